package nn

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// MeanPool2x2 averages non-overlapping 2 x 2 windows of x, NHWC
// [B, H, W, C], and returns [B, H/2, W/2, C]. An odd height or width loses
// its last row or column (integer division, like a "valid" pool with
// stride 2). It is a Reshape to [B, H/2, 2, W/2, 2, C] and a ReduceMean
// over the two window axes, which on the Go backend is several times faster
// than graph.MeanPool's ReduceWindow and has a gradient everywhere.
func MeanPool2x2(x *graph.Node) *graph.Node {
	checkRank4("MeanPool2x2", x)
	return meanPool2x2(x, 1)
}

// meanPool2x2 pools the spatial axes hAxis and hAxis+1 of the rank-4 x.
func meanPool2x2(x *graph.Node, hAxis int) *graph.Node {
	d := x.Shape().Dimensions
	h, w := d[hAxis], d[hAxis+1]
	if h < 2 || w < 2 {
		panicf("MeanPool2x2: input %s is smaller than the 2x2 window", x.Shape())
	}
	if h%2 == 1 || w%2 == 1 {
		x = graph.SliceAxis(x, hAxis, graph.AxisRange(0, h-h%2))
		x = graph.SliceAxis(x, hAxis+1, graph.AxisRange(0, w-w%2))
	}
	dims := make([]int, 0, 6)
	dims = append(dims, d[:hAxis]...)
	dims = append(dims, h/2, 2, w/2, 2)
	dims = append(dims, d[hAxis+2:]...)
	return graph.ReduceMean(graph.Reshape(x, dims...), hAxis+1, hAxis+3)
}

// MeanPool3x3 averages the 3 x 3 neighbourhood of every pixel of x, NHWC
// [B, H, W, C] (stride 1, "same" output size). At the border the mean is
// taken over the pixels inside the image only (padding is not counted), so
// a constant image stays constant. It is separable: sums of three shifted
// slices of a zero-padded input along the width, then along the height,
// times a constant map of reciprocal counts. On the Go backend its gradient
// is written by hand: the operator is self-adjoint up to the count map.
func MeanPool3x3(x *graph.Node) *graph.Node {
	checkRank4("MeanPool3x3", x)
	return meanPool3x3(x, 1, isGoBackend(x.Graph()))
}

// meanPool3x3 pools the spatial axes hAxis and hAxis+1 of the rank-4 x;
// custom selects the hand-written gradient.
func meanPool3x3(x *graph.Node, hAxis int, custom bool) *graph.Node {
	inv := invCount3(x, hAxis)
	if !custom {
		return graph.Mul(boxSum3(boxSum3(x, hAxis+1), hAxis), inv)
	}
	return customVJP([]*graph.Node{x}, func(ins []*graph.Node) []*graph.Node {
		return []*graph.Node{graph.Mul(boxSum3(boxSum3(ins[0], hAxis+1), hAxis), inv)}
	}, func(_, _, dys []*graph.Node) []*graph.Node {
		if dys[0] == nil {
			return []*graph.Node{nil}
		}
		// y = inv * S x with S symmetric, so dx = S (inv * dy).
		return []*graph.Node{boxSum3(boxSum3(graph.Mul(dys[0], inv), hAxis+1), hAxis)}
	})[0]
}

// invCount3 is the constant map of 1/(number of in-image pixels in the 3x3
// neighbourhood), shaped to broadcast against x (size 1 except on the
// spatial axes).
func invCount3(x *graph.Node, hAxis int) *graph.Node {
	d := x.Shape().Dimensions
	h, w := d[hAxis], d[hAxis+1]
	dims := []int{1, 1, 1, 1}
	dims[hAxis], dims[hAxis+1] = h, w
	inv := make([]float64, h*w)
	for i := range h {
		for j := range w {
			inv[i*w+j] = 1 / float64(count3(i, h)*count3(j, w))
		}
	}
	return constLike(x, inv, dims...)
}

// constLike returns vals, shaped dims, as a constant of x's graph and dtype
// (built in float32 for 4-byte dtypes, so float32 graphs get exactly the
// float32 rounding of each value).
func constLike(x *graph.Node, vals []float64, dims ...int) *graph.Node {
	var t *tensors.Tensor
	if x.DType().Size() == 4 {
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(v)
		}
		t = tensors.FromFlatDataAndDimensions(f, dims...)
	} else {
		t = tensors.FromFlatDataAndDimensions(vals, dims...)
	}
	return graph.ConvertDType(graph.ConstTensor(x.Graph(), t), x.DType())
}

// count3 is the number of indices of {i-1, i, i+1} inside [0, n).
func count3(i, n int) int {
	c := 1
	if i > 0 {
		c++
	}
	if i < n-1 {
		c++
	}
	return c
}

// boxSum3 returns, along axis of x, the sum of each element and its two
// neighbours, with zeros beyond the border.
func boxSum3(x *graph.Node, axis int) *graph.Node {
	n := x.Shape().Dimensions[axis]
	if n == 1 {
		return x
	}
	z := graph.Zeros(x.Graph(), sliceShape(x, axis, 1))
	xp := graph.Concatenate([]*graph.Node{z, x, z}, axis)
	sum := graph.SliceAxis(xp, axis, graph.AxisRange(0, n))
	sum = graph.Add(sum, graph.SliceAxis(xp, axis, graph.AxisRange(1, n+1)))
	return graph.Add(sum, graph.SliceAxis(xp, axis, graph.AxisRange(2, n+2)))
}

// GlobalMeanPool averages x, NHWC [B, H, W, C], over height and width and
// returns [B, C].
func GlobalMeanPool(x *graph.Node) *graph.Node {
	checkRank4("GlobalMeanPool", x)
	return graph.ReduceMean(x, 1, 2)
}

// globalPool averages each channel group over its spatial axes and returns
// the concatenated [B, C].
func (n net) globalPool(xs []*graph.Node) *graph.Node {
	parts := make([]*graph.Node, len(xs))
	for i, x := range xs {
		parts[i] = graph.ReduceMean(x, n.hAxis(), n.wAxis()) // [C, B] or [B, C]
	}
	if n.cm {
		return graph.Transpose(n.concat(parts), 0, 1)
	}
	return concatOrOne(parts, 1)
}
