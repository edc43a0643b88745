package flows

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// flowCases are the flows the invariance tests run on: the 1-D reference
// flow and both 4-D kinds, small enough to be quick.
func flowCases() []Config {
	one := DefaultConfig(1)
	coupling := DefaultConfig(4)
	ar := DefaultConfig(4)
	ar.Kind = KindAutoregressive
	for _, c := range []*Config{&one, &coupling, &ar} {
		c.Hidden = 16
		c.Bins = 6
		c.Bound = 3
	}
	return []Config{one, coupling, ar}
}

func cfgName(c Config) string {
	if c.Dim == 1 {
		return "dim1"
	}
	return "dim4_" + c.Kind
}

// f64 is a float64 tensor [dims...] from data.
func f64(data []float64, dims ...int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// randomize sets every variable under store to random values with the
// scale of a trained network (1/sqrt(fan-in) weights, biases of 0.3), so the
// flow is far from the identity and every code path matters.
func randomize(t *testing.T, store *model.Store, rng *rand.Rand) {
	t.Helper()
	for v := range store.IterVariables() {
		if !v.Trainable || !v.DType().IsFloat() {
			continue
		}
		dims := v.Shape().Dimensions
		std := 0.3
		if len(dims) == 2 {
			std = 1 / math.Sqrt(float64(dims[0]))
		}
		vals := normals(rng, v.Shape().Size())
		for i := range vals {
			vals[i] *= std
		}
		if err := v.SetValue(f64(vals, dims...)); err != nil {
			t.Fatal(err)
		}
	}
}

// flowRig holds float64 executors of one flow over one store.
type flowRig struct {
	cfg                            Config
	store                          *model.Store
	fwd, inv, logProb, sampleLogPr *model.Exec
}

func newFlowRig(t *testing.T, cfg Config) *flowRig {
	t.Helper()
	r := &flowRig{cfg: cfg, store: model.NewStore()}
	var err error
	must := func(e *model.Exec, err2 error) *model.Exec {
		if err2 != nil {
			err = err2
		}
		return e
	}
	b := backend(t)
	r.fwd = must(model.NewExec(b, r.store, func(s *model.Scope, ctx, x *graph.Node) (*graph.Node, *graph.Node) {
		return Forward(s.At("flow"), cfg, ctx, x)
	}))
	r.inv = must(model.NewExec(b, r.store, func(s *model.Scope, ctx, z *graph.Node) (*graph.Node, *graph.Node) {
		return Inverse(s.At("flow"), cfg, ctx, z)
	}))
	r.logProb = must(model.NewExec(b, r.store, func(s *model.Scope, ctx, x *graph.Node) *graph.Node {
		return LogProb(s.At("flow"), cfg, ctx, x)
	}))
	r.sampleLogPr = must(model.NewExec(b, r.store, func(s *model.Scope, ctx, z *graph.Node) (*graph.Node, *graph.Node) {
		return SampleAndLogProb(s.At("flow"), cfg, ctx, z)
	}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run2 executes e and returns its two float64 outputs.
func run2(t *testing.T, e *model.Exec, args ...any) ([]float64, []float64) {
	t.Helper()
	out, err := e.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
}

// TestFlowChangeOfVariables: for randomised flows (Dim 1 and 4, both kinds)
// in float64, Forward(Inverse(z)) = z, Inverse(Forward(x)) = x, the log dets
// of the two directions are opposite, and LogProb of a sample equals
// log N(noise) - log|d theta/d noise| (SampleAndLogProb's value).
func TestFlowChangeOfVariables(t *testing.T) {
	const b, s, e = 8, 50, 3
	for _, cfg := range flowCases() {
		t.Run(cfgName(cfg), func(t *testing.T) {
			withTimeout(t, graphTimeout, func() {
				rng := rand.New(rand.NewPCG(11, uint64(cfg.Dim)))
				r := newFlowRig(t, cfg)
				ctx := f64(normals(rng, b*e), b, e)
				noise := normals(rng, b*s*cfg.Dim)
				// Some points in the tails of the splines too.
				for i := 0; i < len(noise); i += 7 {
					noise[i] *= 2.5
				}
				run2(t, r.fwd, ctx, f64(noise, b, s, cfg.Dim)) // Creates the variables.
				randomize(t, r.store, rng)

				theta, ladInv := run2(t, r.inv, ctx, f64(noise, b, s, cfg.Dim))
				z, ladFwd := run2(t, r.fwd, ctx, f64(theta, b, s, cfg.Dim))
				errZ := maxAbsDiff(z, noise)
				errL := 0.0
				for i := range ladInv {
					errL = math.Max(errL, math.Abs(ladInv[i]+ladFwd[i]))
				}
				x2, _ := run2(t, r.inv, ctx, f64(z, b, s, cfg.Dim))
				errX := maxAbsDiff(x2, theta)

				thetaS, lq := run2(t, r.sampleLogPr, ctx, f64(noise, b, s, cfg.Dim))
				if e := maxAbsDiff(thetaS, theta); e != 0 {
					t.Errorf("SampleAndLogProb samples differ from Inverse by %.2e", e)
				}
				out, err := r.logProb.Exec(ctx, f64(theta, b, s, cfg.Dim))
				if err != nil {
					t.Fatal(err)
				}
				lp := tensors.MustCopyFlatData[float64](out[0])
				errLP := maxAbsDiff(lp, lq)
				spread := 0.0
				for i := range ladInv {
					spread = math.Max(spread, math.Abs(ladInv[i]))
				}
				t.Logf("max |F(F^-1(z)) - z| = %.2e, max |F^-1(F(x)) - x| = %.2e, max |ld_f + ld_i| = %.2e, max |LogProb(sample) - (log N - ld)| = %.2e (max |ld| %.2f)",
					errZ, errX, errL, errLP, spread)
				if errZ > 1e-9 || errX > 1e-9 || errL > 1e-8 || errLP > 1e-8 {
					t.Errorf("change of variables broken: %.2e %.2e %.2e %.2e", errZ, errX, errL, errLP)
				}
				if spread < 0.5 {
					t.Errorf("randomised flow is too close to the identity (max |log det| %.3f): test too weak", spread)
				}
			})
		})
	}
}

// det returns the determinant of the n x n row-major matrix a (LU with
// partial pivoting; a is overwritten).
func det(a []float64, n int) float64 {
	d := 1.0
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r*n+c]) > math.Abs(a[p*n+c]) {
				p = r
			}
		}
		if a[p*n+c] == 0 {
			return 0
		}
		if p != c {
			for k := range n {
				a[c*n+k], a[p*n+k] = a[p*n+k], a[c*n+k]
			}
			d = -d
		}
		d *= a[c*n+c]
		for r := c + 1; r < n; r++ {
			f := a[r*n+c] / a[c*n+c]
			for k := c; k < n; k++ {
				a[r*n+k] -= f * a[c*n+k]
			}
		}
	}
	return d
}

// TestFlowLogDetJacobian: the 4-D flows' log det against the log |det| of
// a central finite-difference Jacobian, evaluated with S = 1 + 2 Dim
// perturbed copies of each point sharing its context.
func TestFlowLogDetJacobian(t *testing.T) {
	const b, e, h = 24, 3, 1e-6
	for _, cfg := range flowCases() {
		if cfg.Dim == 1 {
			continue
		}
		t.Run(cfgName(cfg), func(t *testing.T) {
			withTimeout(t, graphTimeout, func() {
				d := cfg.Dim
				s := 1 + 2*d
				rng := rand.New(rand.NewPCG(13, 14))
				r := newFlowRig(t, cfg)
				ctx := f64(normals(rng, b*e), b, e)
				x := make([]float64, b*s*d)
				for i := range b {
					base := normals(rng, d)
					for k := range s {
						copy(x[(i*s+k)*d:], base)
						if k > 0 {
							j := (k - 1) / 2
							x[(i*s+k)*d+j] += h * float64(1-2*((k-1)%2)) // +h, then -h.
						}
					}
				}
				run2(t, r.fwd, ctx, f64(x, b, s, d))
				randomize(t, r.store, rng)
				z, lad := run2(t, r.fwd, ctx, f64(x, b, s, d))
				worst, spread := 0.0, 0.0
				for i := range b {
					jac := make([]float64, d*d)
					for j := range d {
						plus, minus := (i*s+1+2*j)*d, (i*s+2+2*j)*d
						for k := range d {
							jac[k*d+j] = (z[plus+k] - z[minus+k]) / (2 * h)
						}
					}
					fd := math.Log(math.Abs(det(jac, d)))
					worst = math.Max(worst, math.Abs(fd-lad[i*s]))
					spread = math.Max(spread, math.Abs(lad[i*s]))
				}
				t.Logf("max |log det - log|det J_fd|| = %.2e over %d points (max |log det| %.2f)", worst, b, spread)
				if worst > 1e-5 {
					t.Errorf("log det differs from the finite-difference Jacobian by %.2e", worst)
				}
			})
		})
	}
}

// TestAutoregressiveStructure: in an autoregressive transform, changing a
// coordinate changes none of the base coordinates of lower degree, and the
// first coordinate still depends on the context.
func TestAutoregressiveStructure(t *testing.T) {
	cfg := flowCases()[2]
	cfg.Transforms = 1
	withTimeout(t, graphTimeout, func() {
		rng := rand.New(rand.NewPCG(15, 16))
		r := newFlowRig(t, cfg)
		d := cfg.Dim
		x := normals(rng, d)
		xs := make([]float64, 0, (d+1)*d)
		xs = append(xs, x...)
		for j := range d {
			y := append([]float64(nil), x...)
			y[j] += 0.5
			xs = append(xs, y...)
		}
		ctxA := f64([]float64{0.1, -0.4, 0.3}, 1, 3)
		run2(t, r.fwd, ctxA, f64(xs, 1, d+1, d))
		randomize(t, r.store, rng)
		z, _ := run2(t, r.fwd, ctxA, f64(xs, 1, d+1, d))
		for j := range d { // Transform 0 has natural order: degree of i is i+1.
			for i := range d {
				changed := z[(1+j)*d+i] != z[i]
				if i <= j && !changed && i == j {
					t.Errorf("z_%d does not depend on x_%d", i, j)
				}
				if i < j && changed {
					t.Errorf("z_%d depends on x_%d (later coordinate)", i, j)
				}
			}
		}
		zB, _ := run2(t, r.fwd, f64([]float64{-1, 0.7, 0.2}, 1, 3), f64(xs, 1, d+1, d))
		if zB[0] == z[0] {
			t.Error("first coordinate does not depend on the context")
		}
	})
}

// TestFlowStartsNearIdentity: a freshly initialised flow is close to the
// identity (outputs of the conditioners ~1e-2, so |z - x| ~ 0.01-0.1 after
// 4 transforms), and equal seeds give equal flows while different seeds do not.
func TestFlowStartsNearIdentity(t *testing.T) {
	for _, cfg := range flowCases() {
		t.Run(cfgName(cfg), func(t *testing.T) {
			withTimeout(t, graphTimeout, func() {
				const b, s, e = 4, 20, 3
				rng := rand.New(rand.NewPCG(17, 18))
				ctx := f64(normals(rng, b*e), b, e)
				x := f64(normals(rng, b*s*cfg.Dim), b, s, cfg.Dim)
				z1, l1 := run2(t, newFlowRig(t, cfg).fwd, ctx, x)
				z2, _ := run2(t, newFlowRig(t, cfg).fwd, ctx, x)
				other := cfg
				other.Seed++
				z3, _ := run2(t, newFlowRig(t, other).fwd, ctx, x)
				dev := maxAbsDiff(z1, tensors.MustCopyFlatData[float64](x))
				t.Logf("initial max |z - x| = %.2e, max |log det| = %.2e", dev, maxAbsDiff(l1, make([]float64, len(l1))))
				if dev > 0.25 || dev == 0 {
					t.Errorf("initial flow: max |z - x| = %.2e, want small but non-zero", dev)
				}
				if maxAbsDiff(z1, z2) != 0 {
					t.Error("same seed gave different flows")
				}
				if maxAbsDiff(z1, z3) == 0 {
					t.Error("different seeds gave the same flow")
				}
			})
		})
	}
}

// TestBadInput: invalid configurations and shapes are errors, not hangs or
// crashes.
func TestBadInput(t *testing.T) {
	bad := []Config{
		{},
		func() Config { c := DefaultConfig(4); c.Kind = "glow"; return c }(),
		func() Config { c := DefaultConfig(4); c.Bound = math.Inf(1); return c }(),
		func() Config { c := DefaultConfig(8); c.Kind = KindAutoregressive; c.Hidden = 4; return c }(),
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", c)
		}
	}
	if err := DefaultConfig(4).Validate(); err != nil {
		t.Errorf("default config rejected: %v", err)
	}
	withTimeout(t, graphTimeout, func() {
		r := newFlowRig(t, DefaultConfig(2))
		_, err := r.logProb.Exec(f64(make([]float64, 6), 2, 3), f64(make([]float64, 6), 2, 3))
		if err == nil || !strings.Contains(err.Error(), "Dim = 2") {
			t.Errorf("theta with 3 columns for a 2-D flow: err = %v", err)
		}
		_, err = r.logProb.Exec(f64(make([]float64, 9), 3, 3), f64(make([]float64, 4), 2, 2))
		if err == nil || !strings.Contains(err.Error(), "context") {
			t.Errorf("context batch mismatch: err = %v", err)
		}
	})
}
