package flows

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/lenssbi/lenssbi/pkg/mlbackend"
)

// TestXLAParity evaluates log-probabilities and samples of conditional
// flows (1-D, 4-D coupling, 4-D autoregressive) with the same weights on the
// Go backend and on XLA-CPU: they agree to float32 round-off. Runs when an
// XLA CPU plugin is installed (`make xla`; CI does).
func TestXLAParity(t *testing.T) {
	if mlbackend.FindPlugin("cpu") == "" {
		t.Skip("no XLA CPU plugin installed (make xla)")
	}
	xb, err := mlbackend.New("xla:cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer xb.Finalize()
	const b, s, e = 16, 8, 5
	for _, cfg := range []Config{DefaultConfig(1), DefaultConfig(4), func() Config { c := DefaultConfig(4); c.Kind = KindAutoregressive; return c }()} {
		rng := rand.New(rand.NewPCG(3, uint64(cfg.Dim)))
		ctx := toF32(normals(rng, b*e))
		theta := toF32(normals(rng, b*cfg.Dim))
		noise := toF32(normals(rng, b*s*cfg.Dim))
		store := model.NewStore()
		fn := func(scope *model.Scope, c, th, z *graph.Node) (*graph.Node, *graph.Node) {
			f := scope.In("flow")
			return LogProb(f, cfg, c, th), Sample(f, cfg, c, z)
		}
		run := func(be compute.Backend) (lp, smp []float32) {
			withTimeout(t, graphTimeout, func() {
				out, err := model.CallOnceN(be, store, fn,
					tensors.FromFlatDataAndDimensions(ctx, b, e),
					tensors.FromFlatDataAndDimensions(theta, b, cfg.Dim),
					tensors.FromFlatDataAndDimensions(noise, b, s, cfg.Dim))
				if err != nil {
					t.Error(err)
					return
				}
				lp, smp = tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
			})
			for v := range store.IterVariables() { // detach the weights from this backend
				if val, err := v.Value(); err == nil {
					val.ToLocal()
				}
			}
			return lp, smp
		}
		lpGo, smpGo := run(backend(t))
		lpX, smpX := run(xb)
		if len(lpGo) != b || len(lpX) != b || len(smpGo) != b*s*cfg.Dim || len(smpX) != len(smpGo) {
			t.Fatalf("dim %d %s: unexpected output sizes %d %d %d %d", cfg.Dim, cfg.Kind, len(lpGo), len(lpX), len(smpGo), len(smpX))
		}
		dl, ds := maxRelDiff(lpGo, lpX), maxRelDiff(smpGo, smpX)
		t.Logf("dim %d %s: log-prob max rel diff %.2g, samples %.2g", cfg.Dim, cfg.Kind, dl, ds)
		if dl > 1e-4 || ds > 1e-4 {
			t.Errorf("dim %d %s: Go and XLA differ (log-prob %.2g, samples %.2g)", cfg.Dim, cfg.Kind, dl, ds)
		}
	}
}

// maxRelDiff is max |a-b| / max(1, |a|).
func maxRelDiff(a, b []float32) float64 {
	worst := 0.0
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i]-b[i]))/math.Max(1, math.Abs(float64(a[i]))))
	}
	return worst
}
