package flows

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// density is a known conditional density: draw returns n contexts [n, E]
// and values [n, Dim] (flat, row-major); logP the exact log density of
// each pair.
type density struct {
	e, dim int
	draw   func(rng *rand.Rand, n int) (ctx, x []float64)
	logP   func(ctx, x []float64) float64
}

// fitter trains a float32 flow by maximum likelihood with Adam.
type fitter struct {
	cfg      Config
	store    *model.Store
	step, lp *model.Exec
}

func newFitter(t *testing.T, cfg Config, lr float64) *fitter {
	t.Helper()
	f := &fitter{cfg: cfg, store: model.NewStore()}
	opt := optimizer.Adam().LearningRate(lr).Done()
	var err error
	f.step, err = model.NewExec(backend(t), f.store, func(s *model.Scope, ctx, x *graph.Node) *graph.Node {
		loss := graph.Neg(graph.ReduceAllMean(LogProb(s.At("flow"), cfg, ctx, x)))
		opt.UpdateGraph(s, x.Graph(), loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	f.lp, err = model.NewExec(backend(t), f.store, func(s *model.Scope, ctx, x *graph.Node) *graph.Node {
		return LogProb(s.At("flow"), cfg, ctx, x)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fit runs steps Adam steps on fresh batches drawn from p, the learning
// rate following a cosine from lr down to lr/20; it returns the last loss.
func (f *fitter) fit(t *testing.T, p density, rng *rand.Rand, steps, batch int, lr float64) float64 {
	t.Helper()
	loss := math.NaN()
	for i := range steps {
		if i > 0 { // The first step creates the learning-rate variable.
			frac := float64(i) / float64(steps)
			now := lr * (0.05 + 0.95*0.5*(1+math.Cos(math.Pi*frac)))
			v := optimizer.LearningRateVar(f.store.RootScope(), dtypes.Float32, lr)
			if err := v.SetValue(tensors.FromScalar(float32(now))); err != nil {
				t.Fatal(err)
			}
		}
		ctx, x := p.draw(rng, batch)
		out, err := f.step.Exec(tensors.FromFlatDataAndDimensions(toF32(ctx), batch, p.e),
			tensors.FromFlatDataAndDimensions(toF32(x), batch, p.dim))
		if err != nil {
			t.Fatal(err)
		}
		loss = float64(tensors.ToScalar[float32](out[0]))
	}
	return loss
}

// kl estimates KL(p || q) = E_p[log p - log q] on n held-out draws; it
// returns the estimate and its standard error.
func (f *fitter) kl(t *testing.T, p density, rng *rand.Rand, n int) (float64, float64) {
	t.Helper()
	ctx, x := p.draw(rng, n)
	out, err := f.lp.Exec(tensors.FromFlatDataAndDimensions(toF32(ctx), n, p.e),
		tensors.FromFlatDataAndDimensions(toF32(x), n, p.dim))
	if err != nil {
		t.Fatal(err)
	}
	lq := tensors.MustCopyFlatData[float32](out[0])
	sum, sum2 := 0.0, 0.0
	for i := range n {
		d := p.logP(ctx[i*p.e:(i+1)*p.e], x[i*p.dim:(i+1)*p.dim]) - float64(lq[i])
		sum += d
		sum2 += d * d
	}
	mean := sum / float64(n)
	return mean, math.Sqrt((sum2/float64(n) - mean*mean) / float64(n))
}

func logNormalPDF(x, mu, sigma float64) float64 {
	z := (x - mu) / sigma
	return -0.5*z*z - math.Log(sigma) - halfLog2Pi
}

// mixture1D: c ~ U(-1, 1), x | c ~ w N(-1, 0.25^2) + (1 - w) N(1.5, 0.4^2)
// with w = (1 + c)/2: bimodal, and unimodal at either end of the context.
var mixture1D = density{
	e: 1, dim: 1,
	draw: func(rng *rand.Rand, n int) (ctx, x []float64) {
		ctx, x = make([]float64, n), make([]float64, n)
		for i := range n {
			c := 2*rng.Float64() - 1
			ctx[i] = c
			if rng.Float64() < (1+c)/2 {
				x[i] = -1 + 0.25*rng.NormFloat64()
			} else {
				x[i] = 1.5 + 0.4*rng.NormFloat64()
			}
		}
		return
	},
	logP: func(ctx, x []float64) float64 {
		w := (1 + ctx[0]) / 2
		a := math.Log(w) + logNormalPDF(x[0], -1, 0.25)
		b := math.Log1p(-w) + logNormalPDF(x[0], 1.5, 0.4)
		if math.IsInf(a, -1) {
			return b
		}
		if math.IsInf(b, -1) {
			return a
		}
		m := math.Max(a, b)
		return m + math.Log(math.Exp(a-m)+math.Exp(b-m))
	},
}

// gaussian4D: c ~ U(-1, 1)^2, x | c ~ N(mu(c), L L^T), mu linear in c, with
// correlations of up to 0.9 between coordinates.
var gaussian4D = func() density {
	l := [4][4]float64{
		{0.5, 0, 0, 0},
		{0.45, 0.22, 0, 0},
		{-0.2, 0.1, 0.4, 0},
		{0.1, -0.3, 0.2, 0.3},
	}
	mu := func(c []float64) [4]float64 {
		return [4]float64{c[0] + 0.5*c[1], -c[0], 0.8 * c[1], 0.5*c[0] - 0.5*c[1]}
	}
	logDetL := 0.0
	for i := range 4 {
		logDetL += math.Log(l[i][i])
	}
	return density{
		e: 2, dim: 4,
		draw: func(rng *rand.Rand, n int) (ctx, x []float64) {
			ctx, x = make([]float64, 2*n), make([]float64, 4*n)
			for i := range n {
				c := ctx[2*i : 2*i+2]
				c[0], c[1] = 2*rng.Float64()-1, 2*rng.Float64()-1
				m := mu(c)
				var u [4]float64
				for k := range u {
					u[k] = rng.NormFloat64()
				}
				for r := range 4 {
					v := m[r]
					for k := 0; k <= r; k++ {
						v += l[r][k] * u[k]
					}
					x[4*i+r] = v
				}
			}
			return
		},
		logP: func(c, x []float64) float64 {
			m := mu(c)
			var u [4]float64 // Solve L u = x - mu.
			q := 0.0
			for r := range 4 {
				v := x[r] - m[r]
				for k := range r {
					v -= l[r][k] * u[k]
				}
				u[r] = v / l[r][r]
				q += u[r] * u[r]
			}
			return -0.5*q - logDetL - 4*halfLog2Pi
		},
	}
}()

// checkFit trains cfg on p with Adam (cosine-decayed learning rate lr) for
// steps batches of 256 and requires KL(p || q) < tol on held-out draws. The
// untrained flow must be far off (KL > 10 tol) so that the check means
// something.
func checkFit(t *testing.T, name string, cfg Config, p density, steps int, lr, tol float64) {
	t.Helper()
	const batch = 256
	withTimeout(t, graphTimeout, func() {
		rng := rand.New(rand.NewPCG(21, uint64(cfg.Dim)))
		f := newFitter(t, cfg, lr)
		kl0, _ := f.kl(t, p, rng, 20000)
		start := time.Now()
		loss := f.fit(t, p, rng, steps, batch, lr)
		took := time.Since(start)
		kl, se := f.kl(t, p, rng, 20000)
		t.Logf("%s: KL(p||q) %.3f -> %.4f +- %.4f nats after %d Adam steps of %d (last loss %.3f) in %v (%.2f ms/step)",
			name, kl0, kl, se, steps, batch, loss, took.Round(time.Millisecond), float64(took.Microseconds())/1e3/float64(steps))
		if !(kl < tol) {
			t.Errorf("%s: KL(p||q) = %.4f nats, want < %g", name, kl, tol)
		}
		if !(kl0 > 10*tol) {
			t.Errorf("%s: untrained KL %.4f is already small: the test is too weak", name, kl0)
		}
	})
}

// TestFitMixture1D trains the reference 1-D flow on mixture1D.
func TestFitMixture1D(t *testing.T) {
	if testing.Short() {
		t.Skip("training test")
	}
	checkFit(t, "1-D mixture", DefaultConfig(1), mixture1D, 500, 1e-2, 0.03)
}

// TestFitGaussian4D trains the 4-D flows (both kinds) on a correlated
// Gaussian whose mean depends on the context.
func TestFitGaussian4D(t *testing.T) {
	if testing.Short() {
		t.Skip("training test")
	}
	t.Run(KindCoupling, func(t *testing.T) {
		checkFit(t, "4-D Gaussian, coupling", DefaultConfig(4), gaussian4D, 800, 1e-2, 0.05)
	})
	t.Run(KindAutoregressive, func(t *testing.T) {
		cfg := DefaultConfig(4)
		cfg.Kind = KindAutoregressive
		checkFit(t, "4-D Gaussian, autoregressive", cfg, gaussian4D, 600, 1e-2, 0.05)
	})
}

// TestTrainingReproducible: two trainings with the same seeds (variables,
// data) give bit-identical losses and log densities.
func TestTrainingReproducible(t *testing.T) {
	withTimeout(t, graphTimeout, func() {
		var losses [2]float64
		var kls [2]float64
		for i := range losses {
			rng := rand.New(rand.NewPCG(41, 42))
			f := newFitter(t, DefaultConfig(1), 1e-2)
			losses[i] = f.fit(t, mixture1D, rng, 20, 64, 1e-2)
			kls[i], _ = f.kl(t, mixture1D, rng, 500)
		}
		if losses[0] != losses[1] || kls[0] != kls[1] {
			t.Errorf("same seeds, different results: losses %v, KL %v", losses, kls)
		}
	})
}
