package flows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestLogProbGradients checks the gradient of the mean LogProb with respect
// to every variable of randomised flows (Dim 1, Dim 4 both kinds; float64)
// against central finite differences, at three entries per variable; also
// with S = 3 values of theta per context (the shared-parameter path of the
// 1-D spline, the batched first layer of the coupling network). Every
// operation on the way (gather, fused dense and softmax, where, concatenate,
// ...) must have a correct gradient on the Go backend.
func TestLogProbGradients(t *testing.T) {
	const b, e, h = 16, 3, 1e-6
	type gradCase struct {
		cfg Config
		s   int
	}
	var cases []gradCase
	for _, cfg := range flowCases() {
		cases = append(cases, gradCase{cfg, 1})
		if cfg.Kind != KindAutoregressive || cfg.Dim == 1 {
			cases = append(cases, gradCase{cfg, 3})
		}
	}
	for _, gc := range cases {
		cfg, ns := gc.cfg, gc.s
		t.Run(fmt.Sprintf("%s_S%d", cfgName(cfg), ns), func(t *testing.T) {
			withTimeout(t, graphTimeout, func() {
				rng := rand.New(rand.NewPCG(31, uint64(cfg.Dim)))
				store := model.NewStore()
				var vars []*model.Variable
				lossFn := func(s *model.Scope, ctx, x *graph.Node) *graph.Node {
					return graph.ReduceAllMean(LogProb(s.At("flow"), cfg, ctx, x))
				}
				gradExec, err := model.NewExec(backend(t), store, func(s *model.Scope, ctx, x *graph.Node) []*graph.Node {
					loss := lossFn(s, ctx, x)
					vars = vars[:0]
					var nodes []*graph.Node
					for v := range store.IterVariables() {
						if v.Trainable && v.InUseByGraph(loss.Graph()) {
							vars = append(vars, v)
							nodes = append(nodes, v.NodeValue(loss.Graph()))
						}
					}
					return append([]*graph.Node{loss}, graph.Gradient(loss, nodes...)...)
				})
				if err != nil {
					t.Fatal(err)
				}
				lossExec, err := model.NewExec(backend(t), store, lossFn)
				if err != nil {
					t.Fatal(err)
				}
				ctx := normals(rng, b*e)
				x := normals(rng, b*ns*cfg.Dim)
				args := func() []any { return []any{f64(ctx, b, e), f64(x, b, ns, cfg.Dim)} }
				if _, err := lossExec.Exec(args()...); err != nil { // Creates the variables.
					t.Fatal(err)
				}
				randomize(t, store, rng)
				out, err := gradExec.Exec(args()...)
				if err != nil {
					t.Fatal(err)
				}
				loss := func() float64 {
					o, err := lossExec.Exec(args()...)
					if err != nil {
						t.Fatal(err)
					}
					return tensors.ToScalar[float64](o[0])
				}
				worst, checked := 0.0, 0
				for vi, v := range vars {
					grad := tensors.MustCopyFlatData[float64](out[1+vi])
					orig := tensors.MustCopyFlatData[float64](v.MustValue())
					for range 3 {
						i := rng.IntN(len(orig))
						set := func(val float64) {
							w := append([]float64(nil), orig...)
							w[i] = val
							if err := v.SetValue(f64(w, v.Shape().Dimensions...)); err != nil {
								t.Fatal(err)
							}
						}
						set(orig[i] + h)
						up := loss()
						set(orig[i] - h)
						down := loss()
						set(orig[i])
						fd := (up - down) / (2 * h)
						rel := math.Abs(fd-grad[i]) / math.Max(1e-3, math.Abs(fd)+math.Abs(grad[i]))
						if rel > 1e-5 {
							t.Errorf("%s[%d]: gradient %.8g, finite difference %.8g", v.Path(), i, grad[i], fd)
						}
						worst = math.Max(worst, rel)
						checked++
					}
				}
				t.Logf("%d entries of %d variables: max relative gradient error %.2e", checked, len(vars), worst)
				if len(vars) == 0 {
					t.Error("no trainable variables")
				}
			})
		})
	}
}

// TestRQSplineSharedParameters: parameters shared along an axis ([n, 1, K]
// for x [n, S]; the 1-D sampling path, a batched product with step
// matrices) give the same result as the same parameters repeated ([n, S, K];
// the gather path), in both directions.
func TestRQSplineSharedParameters(t *testing.T) {
	const n, s, k, bound = 7, 40, 5, 2.5
	rng := rand.New(rand.NewPCG(33, 34))
	w, hh, d := scaled(normals(rng, n*k), 1.5), scaled(normals(rng, n*k), 1.5), scaled(normals(rng, n*(k-1)), 1.5)
	rep := func(a []float64, m int) []float64 {
		out := make([]float64, 0, n*s*m)
		for i := range n {
			for range s {
				out = append(out, a[i*m:(i+1)*m]...)
			}
		}
		return out
	}
	x := scaled(normals(rng, n*s), 1.3)
	x[0], x[1], x[2] = -bound, bound, 0 // The ends exactly.
	withTimeout(t, graphTimeout, func() {
		for _, inverse := range []bool{false, true} {
			fn := func(x, w, h, d *graph.Node) (*graph.Node, *graph.Node) { return RQSpline(x, w, h, d, bound, inverse) }
			e, err := graph.NewExec(backend(t), fn)
			if err != nil {
				t.Fatal(err)
			}
			shared, err := e.Exec(f64(x, n, s), f64(w, n, 1, k), f64(hh, n, 1, k), f64(d, n, 1, k-1))
			if err != nil {
				t.Fatal(err)
			}
			full, err := e.Exec(f64(x, n, s), f64(rep(w, k), n, s, k), f64(rep(hh, k), n, s, k), f64(rep(d, k-1), n, s, k-1))
			if err != nil {
				t.Fatal(err)
			}
			for o, name := range []string{"y", "log det"} {
				a, b := tensors.MustCopyFlatData[float64](shared[o]), tensors.MustCopyFlatData[float64](full[o])
				if e := maxAbsDiff(a, b); e > 1e-12 {
					t.Errorf("inverse=%v: shared and repeated parameters differ in %s by %.2e", inverse, name, e)
				}
			}
		}
	})
}

// TestUnconditional: with a nil context the flows are unconditional
// densities, and the change of variables still holds.
func TestUnconditional(t *testing.T) {
	for _, dim := range []int{1, 2} {
		t.Run(fmt.Sprintf("dim%d", dim), func(t *testing.T) {
			withTimeout(t, graphTimeout, func() {
				cfg := DefaultConfig(dim)
				cfg.Bound = 2
				store := model.NewStore()
				e, err := model.NewExec(backend(t), store, func(s *model.Scope, z *graph.Node) (*graph.Node, *graph.Node, *graph.Node) {
					x, lq := SampleAndLogProb(s, cfg, nil, z)
					return x, lq, LogProb(s, cfg, nil, x)
				})
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(35, 36))
				z := normals(rng, 3*20*dim)
				if _, err := e.Exec(f64(z, 3, 20, dim)); err != nil {
					t.Fatal(err)
				}
				randomize(t, store, rng)
				out, err := e.Exec(f64(z, 3, 20, dim))
				if err != nil {
					t.Fatal(err)
				}
				lq, lp := tensors.MustCopyFlatData[float64](out[1]), tensors.MustCopyFlatData[float64](out[2])
				if d := maxAbsDiff(lq, lp); d > 1e-9 {
					t.Errorf("LogProb(sample) differs from the sample's log density by %.2e", d)
				}
				if d := maxAbsDiff(tensors.MustCopyFlatData[float64](out[0]), z); d < 0.1 {
					t.Errorf("randomised unconditional flow is the identity (max |x - z| %.2e)", d)
				}
			})
		})
	}
}
