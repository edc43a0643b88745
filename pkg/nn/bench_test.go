package nn

import (
	"fmt"
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

// fullResConfig is DefaultEmbeddingConfig with the first Inception block
// at full resolution (the pools after the blocks), a radius channel and a
// flattened readout: the configuration models/README weighs for theta_E.
func fullResConfig() EmbeddingConfig {
	c := DefaultEmbeddingConfig()
	c.Coords, c.Readout, c.StemPool, c.BlockPool = CoordsRadius, ReadoutFlatten, false, []bool{true, true, true}
	return c
}

// BenchmarkTrainStep: DefaultEmbeddingConfig, batch 64, Adam, default
// formulation (the frame layout on the Go backend).
func BenchmarkTrainStep(b *testing.B) { benchTrain(b, ConvAuto, DefaultEmbeddingConfig(), 64) }

// BenchmarkTrainStepIm2col: the same in the im2col formulation.
func BenchmarkTrainStepIm2col(b *testing.B) { benchTrain(b, ConvIm2col, DefaultEmbeddingConfig(), 64) }

// BenchmarkTrainStepNative: the same with graph.Convolve and GoMLX's
// autodiff (the formulation meant for XLA), for comparison.
func BenchmarkTrainStepNative(b *testing.B) {
	benchTrain(b, ConvNative, DefaultEmbeddingConfig(), 64)
}

// BenchmarkTrainStepFullRes: fullResConfig, frame layout and im2col.
func BenchmarkTrainStepFullRes(b *testing.B) {
	for _, impl := range []string{ConvFrame, ConvIm2col} {
		b.Run(impl, func(b *testing.B) { benchTrain(b, impl, fullResConfig(), 64) })
	}
}

// benchInference measures cfg's forward pass in the formulation impl, in
// images per second, on batches of 125 images (the size of the graph calls
// of npe's Posterior).
func benchInference(b *testing.B, impl string, cfg EmbeddingConfig) {
	benchInferenceBatch(b, impl, cfg, 125)
}

// benchInferenceBatch is benchInference on batches of the given size.
func benchInferenceBatch(b *testing.B, impl string, cfg EmbeddingConfig, batch int) {
	backend := goBackend(b)
	store := newStore(impl)
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return Embedding(scope.In("embed"), cfg, x)
	})
	if err != nil {
		b.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(3, 4)), false, batch, 48, 48, 4)
	within(b, 5*graphTimeout, func() (*tensors.Tensor, error) { return exec.Call1(x) })
	b.ResetTimer()
	for range b.N {
		within(b, graphTimeout, func() (*tensors.Tensor, error) { return exec.Call1(x) })
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkInferenceBatch: DefaultEmbeddingConfig's forward pass on small
// batches, frame layout and im2col (the frame layout's margins weigh most
// on a batch of one).
func BenchmarkInferenceBatch(b *testing.B) {
	for _, batch := range []int{1, 4, 16, 64} {
		for _, impl := range []string{ConvFrame, ConvIm2col} {
			b.Run(fmt.Sprintf("%d/%s", batch, impl), func(b *testing.B) {
				benchInferenceBatch(b, impl, DefaultEmbeddingConfig(), batch)
			})
		}
	}
}

// BenchmarkInference: DefaultEmbeddingConfig and fullResConfig forward
// passes on batches of 125, one graph call at a time, in the frame layout
// (the default) and im2col. (With much larger batches the timings depend on
// how often the garbage collector empties the Go backend's buffer pools.)
func BenchmarkInference(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  EmbeddingConfig
	}{{"default", DefaultEmbeddingConfig()}, {"fullres", fullResConfig()}} {
		for _, impl := range []string{ConvFrame, ConvIm2col} {
			b.Run(c.name+"/"+impl, func(b *testing.B) { benchInference(b, impl, c.cfg) })
		}
	}
}
