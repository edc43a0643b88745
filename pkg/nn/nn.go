// Package nn holds the image-embedding network of lenssbi: convolutions,
// pooling, Inception blocks and the embedding that turns a batch of
// 48x48 g r i z cutouts into a context vector for a normalising flow.
//
// Everything here is a GoMLX graph-building function over a *model.Scope:
// variables live in the scope's Store and, following GoMLX's convention, a
// graph-building function reports bad input (a wrong rank, an even kernel,
// an invalid configuration, a stored variable of another shape) by
// panicking; model.Exec and graph.Exec return such a panic as an error.
// Check an EmbeddingConfig with its Validate method before building.
//
// # Layout and variables
//
// The API takes and returns NHWC tensors, [batch, height, width, channels].
// Convolution kernels are stored as [k, k, Cin, Cout] with a [Cout] bias, the
// layout of GoMLX's graph.Convolve, whatever the formulation below, so a
// model trained on one backend runs on the other.
//
// # Formulations
//
// The scope parameter ParamConvImpl chooses, per graph, how the network is
// computed; by default by backend (isGoBackend):
//
//   - "native" (XLA): NHWC, graph.Convolve, GoMLX's automatic derivatives.
//   - "im2col" (the pure-Go backend): feature maps are channel-major,
//     [C, B, H, W], inside Embedding and Inception. A k x k convolution is
//     im2col (the k*k shifted windows of the zero-padded input, concatenated
//     on the channel axis, plus a row of ones that carries the bias) and one
//     matrix product; the four 1 x 1 convolutions of an Inception block are
//     one operation; the branches stay separate channel groups. These
//     operations, ReLU and the 3 x 3 mean pool have hand-written gradients
//     (customVJP), arranged so that every matrix product, forward and
//     backward, is in the one layout the Go backend multiplies without
//     transposing (contracted axis last on the left operand), and no large
//     reduction or scalar broadcast runs element by element.
//   - "frame" (the pure-Go backend's default for batches of 8 images or
//     more): Embedding as im2col, but its feature maps are laid out so that
//     the shifted windows are copies of whole rows, made by concatenation,
//     which the Go backend does by block copies, instead of slices, which
//     it does element by element (frame.go describes the layout). Networks
//     with layer normalisation, and Conv2D and Inception on their own, run
//     as im2col.
//
// All formulations compute the same function of the same variables (tests
// check outputs and every gradient against each other and against finite
// differences). Measured when im2col was written (2 cores,
// GOEXPERIMENT=simd, batch 64, Adam): DefaultEmbeddingConfig trained at ~180
// images/s as NHWC im2col with GoMLX's derivatives, which spend their time
// transposing, and at ~370 images/s as channel-major im2col; the Go
// backend's own convolution loop ("native") is far slower than either. The
// frame layout then made a training step 1.2 times faster and inference
// 1.3 times (1.3 and 1.9 times with the first block at full resolution;
// BenchmarkTrainStep*, BenchmarkInference, one run).
//
// Pooling never uses ReduceWindow (slow on the Go backend, and MaxPool has
// no gradient there): 2x2 pooling is a Reshape plus ReduceMean (in the
// frame layout a shifted sum and a strided slice), 3x3 stride-1 pooling a
// separable sum of shifted slices (a shifted sum). Padding is done by
// concatenating zeros, because graph.Pad has no gradient in GoMLX.
//
// # Initialisation
//
// Weights are drawn in Go, not in the graph: each variable gets its own
// math/rand/v2 PCG stream seeded by the scope parameter ParamSeed (int64,
// default 0) and a hash of the variable's full path. Initial values are
// therefore reproducible, independent of the order in which variables are
// created and of the backend. Weights are He-normal (std sqrt(2/fan_in)),
// biases zero, layer-norm gains one.
package nn

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ParamSeed is the scope parameter (int64) that seeds weight
// initialisation; see the package documentation. Set it on the store's root
// scope (or any enclosing scope) before the first graph is built.
const ParamSeed = "nn_seed"

// ParamConvImpl is the scope parameter (string) that chooses the
// formulation (see the package documentation): "frame", "im2col",
// "native", or "auto" / "" (frame on the pure-Go backend, im2col there for
// batches of fewer than 8 images, native elsewhere). It is read when a
// graph is built.
const ParamConvImpl = "nn_conv_impl"

// Convolution formulations accepted by ParamConvImpl.
const (
	ConvAuto   = "auto"
	ConvFrame  = "frame"
	ConvIm2col = "im2col"
	ConvNative = "native"
)

// isGoBackend reports whether g is built for GoMLX's pure-Go backend (whose
// String is "go" and Name "Go Backend"; XLA's are "xla").
func isGoBackend(g *graph.Graph) bool {
	b := g.Backend()
	return b.String() == "go" || strings.HasPrefix(strings.ToLower(b.Name()), "go")
}

// seedStream returns the PCG random stream for the variable at path.
func seedStream(scope *model.Scope, path string) *rand.Rand {
	seed := model.GetParamOr(scope, ParamSeed, int64(0))
	h := fnv.New64a()
	_, _ = h.Write([]byte(path))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// heVariable returns the variable name in scope with the given dimensions,
// creating it with He-normal values of standard deviation sqrt(2/fanIn) (or
// zeros when fanIn is 0) if it does not exist yet.
func heVariable(scope *model.Scope, dtype dtypes.DType, name string, fanIn int, dims ...int) *model.Variable {
	if v := scope.GetVariable(name); v != nil {
		if !v.Shape().Equal(shapes.Make(dtype, dims...)) {
			exceptions.Panicf("nn: variable %s has shape %s, the graph needs %s (was the model built with another configuration?)",
				v.Path(), v.Shape(), shapes.Make(dtype, dims...))
		}
		return v
	}
	size := 1
	for _, d := range dims {
		size *= d
	}
	vals := make([]float64, size)
	if fanIn > 0 {
		r := seedStream(scope, model.JoinPath(scope.Scope(), name))
		std := math.Sqrt(2 / float64(fanIn))
		for i := range vals {
			vals[i] = std * r.NormFloat64()
		}
	}
	var t *tensors.Tensor
	switch dtype {
	case dtypes.Float32:
		f := make([]float32, size)
		for i, v := range vals {
			f[i] = float32(v)
		}
		t = tensors.FromFlatDataAndDimensions(f, dims...)
	case dtypes.Float64:
		t = tensors.FromFlatDataAndDimensions(vals, dims...)
	default:
		exceptions.Panicf("nn: variable %s: dtype %s not supported (use float32 or float64)", name, dtype)
	}
	return scope.VariableWithValue(name, t)
}

// checkRank4 panics with a clear message unless x is [B, H, W, C].
func checkRank4(what string, x *graph.Node) {
	if x.Rank() != 4 {
		exceptions.Panicf("nn.%s: input must be NHWC [batch, height, width, channels], got shape %s", what, x.Shape())
	}
}

// panicf panics with an error message prefixed by "nn.".
func panicf(format string, args ...any) {
	exceptions.Panicf("nn."+format, args...)
}

// sliceShape is the shape of x with axis resized to n.
func sliceShape(x *graph.Node, axis, n int) shapes.Shape {
	s := x.Shape().Clone()
	s.Dimensions[axis] = n
	return s
}
