package nn

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/lenssbi/lenssbi/pkg/mlbackend"
)

// TestEmbeddingXLAParity evaluates the default Inception embedding with the
// same weights on the Go backend (im2col convolutions) and on XLA-CPU (native
// convolutions): the outputs agree to float32 round-off. Runs when an XLA
// CPU plugin is installed (`make xla`; CI does).
func TestEmbeddingXLAParity(t *testing.T) {
	if mlbackend.FindPlugin("cpu") == "" {
		t.Skip("no XLA CPU plugin installed (make xla)")
	}
	xb, err := mlbackend.New("xla:cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer xb.Finalize()
	cfg := DefaultEmbeddingConfig()
	const n, h, w, c = 4, 48, 48, 4
	rng := rand.New(rand.NewPCG(1, 2))
	px := make([]float32, n*h*w*c)
	for i := range px {
		px[i] = float32(rng.NormFloat64())
	}
	store := model.NewStore()
	store.RootScope().SetParam(ParamSeed, int64(7))
	fn := func(scope *model.Scope, x *graph.Node) *graph.Node { return Embedding(scope.In("embed"), cfg, x) }
	goOut := within(t, graphTimeout, func() (*tensors.Tensor, error) {
		return model.CallOnce(goBackend(t), store, fn, tensors.FromFlatDataAndDimensions(px, n, h, w, c))
	})
	for v := range store.IterVariables() { // detach the weights from the Go backend
		if val, err := v.Value(); err == nil {
			val.ToLocal()
		}
	}
	xlaOut := within(t, 2*time.Minute, func() (*tensors.Tensor, error) {
		return model.CallOnce(xb, store, fn, tensors.FromFlatDataAndDimensions(px, n, h, w, c))
	})
	a, b := tensors.MustCopyFlatData[float32](goOut), tensors.MustCopyFlatData[float32](xlaOut)
	if len(a) != n*cfg.EmbedDim || len(b) != len(a) {
		t.Fatalf("outputs have %d and %d values, want %d", len(a), len(b), n*cfg.EmbedDim)
	}
	worst, scale := 0.0, 0.0
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
		scale = math.Max(scale, math.Abs(float64(a[i])))
	}
	t.Logf("embedding %d x %d: max |go - xla| = %.2g (max |value| %.3g)", n, cfg.EmbedDim, worst, scale)
	if scale == 0 || worst > 1e-4*math.Max(1, scale) {
		t.Errorf("embedding outputs differ between backends by %.2g (scale %.3g)", worst, scale)
	}
}
