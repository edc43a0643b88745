package flows

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// benchContextDim is the embedding width the benchmarks assume.
const benchContextDim = 64

// benchLogProbGrad times LogProb forward and backward (gradients of the mean
// log density with respect to every variable) for a batch of 256.
func benchLogProbGrad(b *testing.B, cfg Config) {
	const batch = 256
	rng := rand.New(rand.NewPCG(1, 2))
	store := model.NewStore()
	e, err := model.NewExec(backend(b), store, func(s *model.Scope, ctx, x *graph.Node) []*graph.Node {
		loss := graph.ReduceAllMean(LogProb(s.At("flow"), cfg, ctx, x))
		return append([]*graph.Node{loss}, s.BuildTrainableVariablesGradientsGraph(loss)...)
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := tensors.FromFlatDataAndDimensions(toF32(normals(rng, batch*benchContextDim)), batch, benchContextDim)
	x := tensors.FromFlatDataAndDimensions(toF32(normals(rng, batch*cfg.Dim)), batch, cfg.Dim)
	if _, err := e.Exec(ctx, x); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := e.Exec(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogProbGrad1D(b *testing.B) { benchLogProbGrad(b, DefaultConfig(1)) }

func BenchmarkLogProbGrad4DCoupling(b *testing.B) { benchLogProbGrad(b, DefaultConfig(4)) }

func BenchmarkLogProbGrad4DAutoregressive(b *testing.B) {
	cfg := DefaultConfig(4)
	cfg.Kind = KindAutoregressive
	benchLogProbGrad(b, cfg)
}

// benchSample times Sample for lenses x samples draws with the context
// [lenses, 64]; b.N counts calls, and the samples/s metric is reported.
func benchSample(b *testing.B, cfg Config, lenses, samples int) {
	rng := rand.New(rand.NewPCG(3, 4))
	store := model.NewStore()
	e, err := model.NewExec(backend(b), store, func(s *model.Scope, ctx, z *graph.Node) *graph.Node {
		return Sample(s.At("flow"), cfg, ctx, z)
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := tensors.FromFlatDataAndDimensions(toF32(normals(rng, lenses*benchContextDim)), lenses, benchContextDim)
	noise := toF32(normals(rng, lenses*samples*cfg.Dim))
	run := func() {
		// The executor takes ownership of its inputs: a fresh tensor per call.
		if _, err := e.Exec(ctx, tensors.FromFlatDataAndDimensions(noise, lenses, samples, cfg.Dim)); err != nil {
			b.Fatal(err)
		}
	}
	run()
	b.ResetTimer()
	for range b.N {
		run()
	}
	b.ReportMetric(float64(lenses*samples*b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkSample1D: the inference target, 2,500 lenses x 1,000 samples of
// one parameter (one of the four marginal flows).
func BenchmarkSample1D(b *testing.B) { benchSample(b, DefaultConfig(1), 2500, 1000) }

// BenchmarkSample4DCoupling: 250 lenses x 1,000 samples of the joint 4-D
// flow (a tenth of the inference target).
func BenchmarkSample4DCoupling(b *testing.B) { benchSample(b, DefaultConfig(4), 250, 1000) }

// BenchmarkSample4DAutoregressive: as BenchmarkSample4DCoupling.
func BenchmarkSample4DAutoregressive(b *testing.B) {
	cfg := DefaultConfig(4)
	cfg.Kind = KindAutoregressive
	benchSample(b, cfg, 250, 1000)
}
