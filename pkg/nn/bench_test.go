package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// benchTrain measures Adam steps of cfg plus a dense head (8 outputs, mean
// squared error) on batches of 48x48x4 images, in images per second.
func benchTrain(b *testing.B, impl string, cfg EmbeddingConfig, batch int) {
	backend := goBackend(b)
	store := newStore(impl)
	opt := optimizer.Adam().LearningRate(1e-3).Done()
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *graph.Node) *graph.Node {
		loss := mse(regressor(scope, cfg, x, 8), y)
		opt.UpdateGraph(scope, x.Graph(), loss)
		return loss
	})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := randTensor(r, false, batch, 48, 48, 4)
	y := randTensor(r, false, batch, 8)
	within(b, 5*graphTimeout, func() (*tensors.Tensor, error) { return exec.Call1(x, y) }) // compile, first step
	b.ResetTimer()
	for range b.N {
		within(b, graphTimeout, func() (*tensors.Tensor, error) { return exec.Call1(x, y) })
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkTrainStep: DefaultEmbeddingConfig, batch 64, Adam, default
// formulation (im2col, channel-major, hand-written gradients on the Go
// backend).
func BenchmarkTrainStep(b *testing.B) { benchTrain(b, ConvAuto, DefaultEmbeddingConfig(), 64) }

// BenchmarkTrainStepNative: the same with graph.Convolve and GoMLX's
// autodiff (the formulation meant for XLA), for comparison.
func BenchmarkTrainStepNative(b *testing.B) {
	benchTrain(b, ConvNative, DefaultEmbeddingConfig(), 64)
}

// BenchmarkInference: DefaultEmbeddingConfig forward pass on batches of 500.
func BenchmarkInference(b *testing.B) {
	backend := goBackend(b)
	store := newStore(ConvAuto)
	cfg := DefaultEmbeddingConfig()
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return Embedding(scope.In("embed"), cfg, x)
	})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 500
	x := randTensor(rand.New(rand.NewPCG(3, 4)), false, batch, 48, 48, 4)
	within(b, 5*graphTimeout, func() (*tensors.Tensor, error) { return exec.Call1(x) })
	b.ResetTimer()
	for range b.N {
		within(b, graphTimeout, func() (*tensors.Tensor, error) { return exec.Call1(x) })
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
}
