package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// buildFn builds the output of a layer under test from its input.
type buildFn func(scope *model.Scope, x *graph.Node) *graph.Node

// gradReport is what gradCheck measured.
type gradReport struct {
	worst  float64 // largest |autodiff - finite difference| / (|fd| + 1e-3)
	probes int
	grads  map[string][]float64 // autodiff gradients: "x" and variable paths
}

// gradCheck compares the autodiff gradients of L = sum(R * build(x)), R a
// fixed random tensor, with respect to x and to every trainable variable,
// against central finite differences at nProbe random entries of each, in
// float64 on the Go backend with the given formulation. It fails the test if
// any probe disagrees by more than tol (relative, see gradReport.worst) and
// returns the gradients.
func gradCheck(t *testing.T, impl string, x *tensors.Tensor, build buildFn, nProbe int, tol float64) gradReport {
	t.Helper()
	backend := goBackend(t)
	store := newStore(impl)
	r := rand.New(rand.NewPCG(11, 13))

	y := within(t, graphTimeout, func() (*tensors.Tensor, error) {
		return model.CallOnce(backend, store, func(scope *model.Scope, x *graph.Node) *graph.Node { return build(scope, x) }, x)
	})
	rw := randTensor(r, true, y.Shape().Dimensions...)
	// Biases start at zero; a zero bias on a channel whose input is zero puts
	// a ReLU exactly on its kink, where finite differences are meaningless.
	// Give every variable a random nudge.
	for v := range store.IterVariables() {
		if !v.Trainable {
			continue
		}
		val := v.MustValue()
		w := flat64(val)
		for i := range w {
			w[i] += 0.1 * r.NormFloat64()
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(w, val.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
	}

	var paths []string
	gradExec, err := model.NewExec(backend, store, func(scope *model.Scope, x, rw *graph.Node) []*graph.Node {
		loss := graph.ReduceAllSum(graph.Mul(build(scope, x), rw))
		targets := []*graph.Node{x}
		paths = paths[:0]
		for v := range scope.IterVariables() {
			if v.Trainable && v.InUseByGraph(x.Graph()) {
				targets = append(targets, v.NodeValue(x.Graph()))
				paths = append(paths, v.Path())
			}
		}
		return append([]*graph.Node{loss}, graph.Gradient(loss, targets...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	lossExec, err := model.NewExec(backend, store, func(scope *model.Scope, x, rw *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Mul(build(scope, x), rw))
	})
	if err != nil {
		t.Fatal(err)
	}
	outs := within(t, graphTimeout, func() ([]*tensors.Tensor, error) { return gradExec.Call(x, rw) })
	rep := gradReport{grads: map[string][]float64{"x": flat64(outs[1])}}
	for i, p := range paths {
		rep.grads[p] = flat64(outs[2+i])
	}
	loss := func(x *tensors.Tensor) float64 {
		out := within(t, graphTimeout, func() (*tensors.Tensor, error) { return lossExec.Call1(x, rw) })
		return flat64(out)[0]
	}
	const h = 1e-6
	check := func(name string, ad []float64, eval func(i int, delta float64) float64) {
		n := len(ad)
		for range min(nProbe, n) {
			i := r.IntN(n)
			fd := (eval(i, h) - eval(i, -h)) / (2 * h)
			rel := math.Abs(ad[i]-fd) / (math.Abs(fd) + 1e-3)
			rep.worst = max(rep.worst, rel)
			rep.probes++
			if rel > tol {
				t.Errorf("%s[%d]: autodiff %.8g, finite difference %.8g (relative error %.2g)", name, i, ad[i], fd, rel)
			}
		}
	}
	xv := flat64(x)
	check("d/dx", rep.grads["x"], func(i int, delta float64) float64 {
		v := append([]float64(nil), xv...)
		v[i] += delta
		return loss(tensors.FromFlatDataAndDimensions(v, x.Shape().Dimensions...))
	})
	for _, p := range paths {
		v := store.GetVariable(p)
		orig := v.MustValue()
		ov := flat64(orig)
		check("d/d"+p, rep.grads[p], func(i int, delta float64) float64 {
			w := append([]float64(nil), ov...)
			w[i] += delta
			if err := v.SetValuePreservingOld(tensors.FromFlatDataAndDimensions(w, orig.Shape().Dimensions...)); err != nil {
				t.Fatal(err)
			}
			return loss(x)
		})
		if err := v.SetValuePreservingOld(orig); err != nil {
			t.Fatal(err)
		}
	}
	if maxAbs(rep.grads["x"]) == 0 && len(paths) == 0 {
		t.Errorf("all gradients are zero")
	}
	t.Logf("%d probes (x and %d variables), worst relative error %.2g", rep.probes, len(paths), rep.worst)
	return rep
}

// gradTol is the relative tolerance of the finite-difference checks: central
// differences with h = 1e-6 in float64 are good to ~1e-8; ReLU kinks are
// avoided by the fixed seeds.
const gradTol = 1e-5

func TestGradConv2D(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randTensor(r, true, 2, 6, 5, 3)
	for _, k := range []int{1, 3, 5} {
		for _, impl := range []string{ConvIm2col, ConvNative} {
			t.Run(impl+"/k"+string(rune('0'+k)), func(t *testing.T) {
				gradCheck(t, impl, x, func(scope *model.Scope, x *graph.Node) *graph.Node {
					return Conv2D(scope.In("conv"), x, 4, k)
				}, 12, gradTol)
			})
		}
	}
}

func TestGradPooling(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, dims := range [][]int{{2, 6, 4, 3}, {1, 7, 5, 2}} {
		x := randTensor(r, true, dims...)
		gradCheck(t, ConvIm2col, x, func(_ *model.Scope, x *graph.Node) *graph.Node { return MeanPool2x2(x) }, 12, gradTol)
		for _, custom := range []bool{true, false} {
			gradCheck(t, ConvIm2col, x, func(_ *model.Scope, x *graph.Node) *graph.Node {
				return meanPool3x3(x, 1, custom)
			}, 12, gradTol)
			// Channel-major axes, as inside Embedding.
			gradCheck(t, ConvIm2col, x, func(_ *model.Scope, x *graph.Node) *graph.Node {
				return meanPool3x3(x, 2, custom)
			}, 12, gradTol)
		}
		gradCheck(t, ConvIm2col, x, func(_ *model.Scope, x *graph.Node) *graph.Node { return GlobalMeanPool(x) }, 12, gradTol)
	}
}

func TestGradActivationsAndNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	x := randTensor(r, true, 2, 4, 5, 3)
	for _, custom := range []bool{true, false} {
		gradCheck(t, ConvIm2col, x, func(_ *model.Scope, x *graph.Node) *graph.Node { return activate(ActReLU, x, custom) }, 20, gradTol)
	}
	gradCheck(t, ConvIm2col, x, func(_ *model.Scope, x *graph.Node) *graph.Node { return Activate(ActSiLU, x) }, 20, gradTol)
	for _, cm := range []bool{false, true} {
		gradCheck(t, ConvIm2col, x, func(scope *model.Scope, x *graph.Node) *graph.Node {
			// Non-trivial gain and offset: a convolution in front, and the
			// normalised map squared so that the gain matters.
			y := net{cm: cm}.normalize(scope.In("norm"), NormLayer, x)
			return graph.Mul(y, y)
		}, 12, gradTol)
	}
	gradCheck(t, ConvIm2col, randTensor(r, true, 3, 5), func(scope *model.Scope, x *graph.Node) *graph.Node {
		return Dense(scope.In("dense"), x, 4)
	}, 12, gradTol)
}

var smallInception = InceptionConfig{C1: 2, C3Reduce: 3, C3: 4, C5Reduce: 2, C5: 3, CPool: 2}

func TestGradInception(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	x := randTensor(r, true, 2, 6, 5, 3)
	for _, impl := range []string{ConvIm2col, ConvNative} {
		for _, cfg := range []InceptionConfig{smallInception, {C1: 1, C3Reduce: 2, C3: 2, C5Reduce: 1, C5: 2, CPool: 1, Activation: ActSiLU, Norm: NormLayer}} {
			t.Run(impl, func(t *testing.T) {
				gradCheck(t, impl, x, func(scope *model.Scope, x *graph.Node) *graph.Node {
					return Inception(scope.In("inc"), x, cfg)
				}, 6, gradTol)
			})
		}
	}
}

// tinyEmbedding exercises every part of Embedding at a size the finite
// differences can afford: stem pool, two blocks (the second reading the
// first's four channel groups), a pool between them, readout, hidden layer.
func tinyEmbedding(readout, norm string) EmbeddingConfig {
	return EmbeddingConfig{
		StemChannels: 3, StemPool: true,
		Blocks:  []InceptionConfig{smallInception, {C1: 2, C3Reduce: 2, C3: 3, C5Reduce: 1, C5: 2, CPool: 2}},
		Readout: readout, Hidden: 5, EmbedDim: 3,
		Activation: ActReLU, Norm: norm,
	}
}

func TestGradEmbedding(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	x := randTensor(r, true, 2, 8, 8, 2)
	for _, tc := range []struct{ readout, norm string }{{ReadoutMean, NormNone}, {ReadoutFlatten, NormLayer}} {
		reps := map[string]gradReport{}
		for _, impl := range []string{ConvFrame, ConvIm2col, ConvNative} {
			t.Run(impl+"/"+tc.readout+"/"+tc.norm, func(t *testing.T) {
				reps[impl] = gradCheck(t, impl, x, func(scope *model.Scope, x *graph.Node) *graph.Node {
					return Embedding(scope.In("embed"), tinyEmbedding(tc.readout, tc.norm), x)
				}, 4, gradTol)
			})
		}
		compareGrads(t, fmt.Sprint(tc), reps[ConvIm2col], reps[ConvNative])
		compareGrads(t, fmt.Sprint(tc), reps[ConvFrame], reps[ConvNative])
	}
}

// TestGradEmbeddingFrame: the frame layout's gradients, by finite
// differences and against the native formulation, on odd image sizes
// (2x2 pools that drop a row or a column, 3x3 pools at the borders), a
// block at full resolution and SiLU.
func TestGradEmbeddingFrame(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	x := randTensor(r, true, 2, 9, 7, 2)
	cfg := tinyEmbedding(ReadoutFlatten, NormNone)
	cfg.StemPool, cfg.BlockPool, cfg.Coords, cfg.Activation = false, []bool{true, false}, CoordsRadius, ActSiLU
	reps := map[string]gradReport{}
	for _, impl := range []string{ConvFrame, ConvNative} {
		t.Run(impl, func(t *testing.T) {
			reps[impl] = gradCheck(t, impl, x, func(scope *model.Scope, x *graph.Node) *graph.Node {
				return Embedding(scope.In("embed"), cfg, x)
			}, 4, gradTol)
		})
	}
	compareGrads(t, "odd sizes", reps[ConvFrame], reps[ConvNative])
}

// compareGrads checks that two formulations gave the same gradient for
// every variable (and the input), and that few of them are zero.
func compareGrads(t *testing.T, tc string, a, b gradReport) {
	t.Helper()
	if len(a.grads) != len(b.grads) || len(a.grads) < 30 {
		t.Fatalf("%v: %d vs %d gradients", tc, len(a.grads), len(b.grads))
	}
	zero := 0
	for name, ga := range a.grads {
		gb, ok := b.grads[name]
		if !ok {
			t.Errorf("%v: %s missing from the native formulation", tc, name)
			continue
		}
		if d := maxAbsDiff(t, ga, gb); d > 1e-10*max(1, maxAbs(gb)) {
			t.Errorf("%v: gradient of %s differs between formulations by %g", tc, name, d)
		}
		if maxAbs(ga) == 0 {
			zero++ // a ReLU unit dead on both images: legitimate, if rare
			t.Logf("%v: gradient of %s is zero", tc, name)
		}
	}
	if zero > len(a.grads)/5 {
		t.Errorf("%v: %d of %d gradients are zero", tc, zero, len(a.grads))
	}
}

// TestFrameSmallShapes: the frame layout against the native formulation,
// outputs and every gradient in float64, on the shapes where its canvas
// arithmetic has the least room: maps of one row or column, a batch of one,
// odd sizes pooled to 1x1, blocks in a row without pools, no blocks at all
// (with BlockPool nil and empty).
func TestFrameSmallShapes(t *testing.T) {
	one := InceptionConfig{C1: 1, C3Reduce: 1, C3: 1, C5Reduce: 1, C5: 1, CPool: 1}
	base := EmbeddingConfig{StemChannels: 2, Blocks: []InceptionConfig{smallInception}, Readout: ReadoutFlatten,
		EmbedDim: 2, Activation: ActReLU, Norm: NormNone}
	with := func(f func(c *EmbeddingConfig)) EmbeddingConfig {
		c := base
		c.Blocks = append([]InceptionConfig(nil), base.Blocks...)
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name       string
		b, h, w, c int
		cfg        EmbeddingConfig
	}{
		{"1x1 batch 1", 1, 1, 1, 2, base},
		{"1x5", 2, 1, 5, 1, base},
		{"5x1 silu", 2, 5, 1, 2, with(func(c *EmbeddingConfig) { c.Activation = ActSiLU })},
		{"3x2 pooled to 1x1", 2, 3, 2, 2, with(func(c *EmbeddingConfig) { c.StemPool = true })},
		{"5x4 stem and block pools", 1, 5, 4, 3, with(func(c *EmbeddingConfig) {
			c.StemPool, c.Blocks, c.Readout = true, []InceptionConfig{smallInception, one}, ReadoutMean
		})},
		{"three blocks, no pools", 2, 4, 3, 2, with(func(c *EmbeddingConfig) {
			c.Blocks, c.BlockPool = []InceptionConfig{one, smallInception, one}, []bool{false, false, false}
		})},
		{"no blocks, BlockPool nil", 2, 6, 4, 2, with(func(c *EmbeddingConfig) { c.StemPool, c.Blocks = true, nil })},
		{"no blocks, BlockPool empty", 2, 6, 4, 2, with(func(c *EmbeddingConfig) {
			c.StemPool, c.Blocks, c.BlockPool = true, nil, []bool{}
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := randTensor(rand.New(rand.NewPCG(uint64(tc.h), uint64(tc.w))), true, tc.b, tc.h, tc.w, tc.c)
			build := func(scope *model.Scope, x *graph.Node) *graph.Node { return Embedding(scope.In("embed"), tc.cfg, x) }
			a, b := gradCheck(t, ConvFrame, x, build, 2, gradTol), gradCheck(t, ConvNative, x, build, 2, gradTol)
			if len(a.grads) != len(b.grads) {
				t.Fatalf("%d vs %d gradients", len(a.grads), len(b.grads))
			}
			for name, ga := range a.grads {
				if d := maxAbsDiff(t, ga, b.grads[name]); d > 1e-10*max(1, maxAbs(b.grads[name])) {
					t.Errorf("gradient of %s differs from native by %g", name, d)
				}
			}
		})
	}
}

// TestSiLUGradientFinite: on the Go backend SiLU's gradient stays finite at
// the frame layout's off-pixel pre-activations (-1e30) under a large
// incoming gradient, where GoMLX's derivative of x * sigmoid(x) computes
// (dy * x) * s(1-s) = Inf * 0.
func TestSiLUGradientFinite(t *testing.T) {
	backend := goBackend(t)
	x := tensors.FromValue([]float32{-1e30, -3, 0, 2, 50})
	got := within(t, graphTimeout, func() (*tensors.Tensor, error) {
		return graph.MustNewExec(backend, func(x *graph.Node) *graph.Node {
			y := Activate(ActSiLU, x)
			return graph.Gradient(graph.ReduceAllSum(graph.MulScalar(y, 1e10)), x)[0]
		}).Call1(x)
	})
	g := flat64(got)
	want := []float64{0, 1e10 * -0.0881, 1e10 * 0.5, 1e10 * 1.0907, 1e10}
	for i, v := range g {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v-want[i]) > 1e-3*max(1e10*1e-3, math.Abs(want[i])) {
			t.Errorf("x = %g: gradient %g, want %g", flat64(x)[i], v, want[i])
		}
	}
}
