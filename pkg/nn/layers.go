package nn

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Activation names accepted by Activate and the configurations.
const (
	ActReLU = "relu"
	ActSiLU = "silu"
)

// Normalisation names accepted by Normalize and the configurations.
const (
	NormNone  = "none"
	NormLayer = "layer"
)

// validActivation reports whether name is a known activation ("" is ReLU).
func validActivation(name string) bool {
	return name == "" || name == ActReLU || name == ActSiLU
}

// validNorm reports whether name is a known normalisation ("" is none).
func validNorm(name string) bool {
	return name == "" || name == NormNone || name == NormLayer
}

// Activate applies the named activation to x: "relu" (or "") max(x, 0);
// "silu" x * sigmoid(x). On the Go backend both gradients are written by
// hand: ReLU's is dy where x >= 0 (two element-wise passes where GoMLX's
// derivative of Max takes five), SiLU's dy * s (1 + x (1 - s)) with
// s = sigmoid(x), which never multiplies dy by x (GoMLX's derivative does,
// and overflows to Inf, then NaN, for very negative x such as the frame
// layout's off-pixel columns).
func Activate(name string, x *graph.Node) *graph.Node {
	return activate(name, x, isGoBackend(x.Graph()))
}

func (n net) activate(name string, x *graph.Node) *graph.Node { return activate(name, x, n.cm) }

func activate(name string, x *graph.Node, custom bool) *graph.Node {
	switch name {
	case "", ActReLU:
		if !custom {
			return graph.Max(x, graph.ZerosLike(x))
		}
		return customVJP([]*graph.Node{x}, func(ins []*graph.Node) []*graph.Node {
			// ZerosLike, not a scalar: the Go backend broadcasts scalars in
			// binary operations element by element, several times slower.
			return []*graph.Node{graph.Max(ins[0], graph.ZerosLike(ins[0]))}
		}, func(ins, _, dys []*graph.Node) []*graph.Node {
			if dys[0] == nil {
				return []*graph.Node{nil}
			}
			// Gradient 1 at x = 0, as GoMLX's derivative of Max, so that both
			// formulations agree even there (a unit whose input is exactly
			// zero, like a zero bias on a dead channel, still learns).
			x := ins[0]
			return []*graph.Node{graph.Where(graph.GreaterOrEqual(x, graph.ZerosLike(x)), dys[0], graph.ZerosLike(dys[0]))}
		})[0]
	case ActSiLU:
		if !custom {
			return graph.Mul(x, graph.Sigmoid(x))
		}
		var sig *graph.Node
		return customVJP([]*graph.Node{x}, func(ins []*graph.Node) []*graph.Node {
			sig = graph.Sigmoid(ins[0])
			return []*graph.Node{graph.Mul(ins[0], sig)}
		}, func(ins, _, dys []*graph.Node) []*graph.Node {
			if dys[0] == nil {
				return []*graph.Node{nil}
			}
			x := ins[0]
			one := graph.OnesLike(x)
			slope := graph.Mul(sig, graph.Add(one, graph.Mul(x, graph.Sub(one, sig))))
			return []*graph.Node{graph.Mul(dys[0], slope)}
		})[0]
	default:
		panicf("Activate: unknown activation %q (want %q or %q)", name, ActReLU, ActSiLU)
		return nil
	}
}

// Normalize applies the named normalisation to the NHWC feature map x, with
// its variables in scope:
//
//   - "none" or "": x unchanged.
//   - "layer": each image is standardised over its height, width and
//     channels (mean 0, variance 1, epsilon 1e-5), then scaled and shifted by
//     a learned per-channel "gain" (ones) and "offset" (zeros). Independent
//     of the batch, so training and inference compute the same function.
//
// There is no batch normalisation. GoMLX's (ml/layers/norm) stops the
// gradient through the batch mean and variance (its gradient is not the
// textbook one, and finite differences disagree with it), makes training and
// inference graphs differ, and needs its moving averages maintained by
// ml/train's Trainer; besides, ml/train only builds once go.sum has
// github.com/google/uuid. GoMLX's LayerNorm is not used either: normalising
// over height, width and channels, its gain would be per pixel and channel.
func Normalize(scope *model.Scope, name string, x *graph.Node) *graph.Node {
	checkRank4("Normalize", x)
	return net{}.normalize(scope, name, x)
}

func (n net) normalize(scope *model.Scope, name string, x *graph.Node) *graph.Node {
	switch name {
	case "", NormNone:
		return x
	case NormLayer:
		c := n.channels(x)
		g := x.Graph()
		gain := scope.VariableWithValue("gain", onesOf(x.DType(), c)).NodeValue(g)
		offset := heVariable(scope, x.DType(), "offset", 0, c).NodeValue(g)
		dims := []int{1, 1, 1, 1}
		dims[n.chAxis()] = c
		// Per image: reduce every axis but the batch axis.
		axes := []int{1, 2, 3}
		if n.cm {
			axes = []int{0, 2, 3}
		}
		mean := graph.ReduceAndKeep(x, graph.ReduceMean, axes...)
		xc := graph.Sub(x, mean)
		variance := graph.ReduceAndKeep(graph.Square(xc), graph.ReduceMean, axes...)
		// Sqrt, not Rsqrt: GoMLX has no gradient for Rsqrt.
		y := graph.Div(xc, graph.Sqrt(graph.AddScalar(variance, 1e-5)))
		return graph.Add(graph.Mul(y, graph.Reshape(gain, dims...)), graph.Reshape(offset, dims...))
	default:
		panicf("Normalize: unknown normalisation %q (want %q or %q)", name, NormNone, NormLayer)
		return nil
	}
}

// onesOf returns a tensor of n ones of the given float dtype.
func onesOf(dtype dtypes.DType, n int) *tensors.Tensor {
	if dtype == dtypes.Float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = 1
		}
		return tensors.FromFlatDataAndDimensions(v, n)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return tensors.FromFlatDataAndDimensions(v, n)
}

// Dense is a fully connected layer: x [B, Din] times "weights" [Din, dout]
// (He-normal) plus "biases" [dout] (zeros), both in scope.
func Dense(scope *model.Scope, x *graph.Node, dout int) *graph.Node {
	if x.Rank() != 2 {
		panicf("Dense: input must be [batch, features], got shape %s", x.Shape())
	}
	if dout <= 0 {
		panicf("Dense: output size must be positive, got %d", dout)
	}
	din := x.Shape().Dimensions[1]
	g := x.Graph()
	w := heVariable(scope, x.DType(), "weights", din, din, dout).NodeValue(g)
	b := heVariable(scope, x.DType(), "biases", 0, dout).NodeValue(g)
	y := graph.DotGeneral(x, []int{1}, nil, w, []int{0}, nil)
	return graph.Add(y, graph.Reshape(b, 1, dout))
}
