package nn

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// blobBatch draws n 48x48x4 images of a circular Gaussian blob of random
// width sigma in [1.5, 5] px, centred within 2 px of the middle, with random
// flux and colours and a little noise, and the regression target: the
// standardised log width.
func blobBatch(r *rand.Rand, n int) (images, targets *tensors.Tensor) {
	const lo, hi = 1.5, 5.0
	imgs := make([]float32, 0, n*48*48*4)
	tv := make([]float32, n)
	for i := range n {
		sigma := lo * math.Exp(r.Float64()*math.Log(hi/lo))
		cx, cy := 23.5+4*(r.Float64()-0.5), 23.5+4*(r.Float64()-0.5)
		flux := 0.5 + r.Float64()
		var amp [4]float64
		for c := range amp {
			amp[c] = flux * (0.6 + 0.8*r.Float64())
		}
		b := blob(cx, cy, sigma, amp)
		for j := range b {
			b[j] += float32(0.05 * r.NormFloat64())
		}
		imgs = append(imgs, b...)
		// log sigma is uniform on [log lo, log hi]: standardise it.
		u := (math.Log(sigma) - math.Log(lo)) / math.Log(hi/lo)
		tv[i] = float32((u - 0.5) * math.Sqrt(12))
	}
	return tensors.FromFlatDataAndDimensions(imgs, n, 48, 48, 4), tensors.FromFlatDataAndDimensions(tv, n, 1)
}

// regressor is Embedding(cfg) followed by a dense head to nOut outputs.
func regressor(scope *model.Scope, cfg EmbeddingConfig, images *graph.Node, nOut int) *graph.Node {
	emb := Embedding(scope.In("embed"), cfg, images)
	return Dense(scope.In("head"), Activate(cfg.Activation, emb), nOut)
}

func mse(pred, target *graph.Node) *graph.Node {
	return graph.ReduceAllMean(graph.Square(graph.Sub(pred, target)))
}

// TestTrainingSmoke: Adam on DefaultEmbeddingConfig learns the width of a
// Gaussian blob: the held-out mean squared error of the standardised log
// width (1 for a constant guess) drops at least fivefold in 100 steps of
// 16 images (measured: 1.09 -> 0.12). It proves that gradients flow end to end through the
// hand-written derivatives.
func TestTrainingSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("training smoke test skipped in -short mode")
	}
	const steps, batch = 100, 16
	backend := goBackend(t)
	cfg := DefaultEmbeddingConfig()
	store := newStore(ConvAuto)
	opt := optimizer.Adam().LearningRate(2e-3).Done()
	step, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *graph.Node) *graph.Node {
		loss := mse(regressor(scope, cfg, x, 1), y)
		opt.UpdateGraph(scope, x.Graph(), loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	eval, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *graph.Node) *graph.Node {
		return mse(regressor(scope, cfg, x, 1), y)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(31, 32))
	vx, vy := blobBatch(r, 128)
	evalLoss := func() float64 {
		return flat64(within(t, graphTimeout, func() (*tensors.Tensor, error) { return eval.Call1(vx, vy) }))[0]
	}
	before := evalLoss() // creates the variables: the untrained network

	start := time.Now()
	var last float64
	for i := range steps {
		x, y := blobBatch(r, batch)
		last = flat64(within(t, graphTimeout, func() (*tensors.Tensor, error) { return step.Call1(x, y) }))[0]
		if math.IsNaN(last) {
			t.Fatalf("step %d: loss is NaN", i)
		}
	}
	elapsed := time.Since(start)
	after := evalLoss()
	t.Logf("held-out MSE %.4g -> %.4g after %d steps of %d (last batch %.4g); %.0f images/s including compilation",
		before, after, steps, batch, last, float64(steps*batch)/elapsed.Seconds())
	if after > before/5 {
		t.Errorf("held-out loss fell from %.4g to %.4g, less than fivefold", before, after)
	}
}

var lrTest = 3e-3
