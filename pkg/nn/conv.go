package nn

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Conv2D applies a k x k convolution with "same" zero padding, stride 1 and a
// bias to x, NHWC [B, H, W, Cin], and returns [B, H, W, cout].
//
// Its variables live directly in scope: "weights" [k, k, Cin, cout]
// (He-normal, see the package documentation) and "biases" [cout] (zeros);
// give each convolution its own sub-scope. k must be odd and positive.
//
// The formulation follows the scope parameter ParamConvImpl: by default the
// channel-major im2col convolution with hand-written gradients on the pure-Go
// backend (also under "frame", which only Embedding uses), graph.Convolve
// elsewhere; both compute the same function of the same variables. A 1 x 1
// convolution is a matrix product on every backend. On the im2col path a
// lone Conv2D transposes its input to channel-major and its output back;
// Embedding and Inception stay channel-major throughout.
func Conv2D(scope *model.Scope, x *graph.Node, cout, k int) *graph.Node {
	checkRank4("Conv2D", x)
	if k <= 0 || k%2 == 0 {
		panicf("Conv2D: kernel size must be odd and positive for \"same\" padding, got %d", k)
	}
	if cout <= 0 {
		panicf("Conv2D: output channels must be positive, got %d", cout)
	}
	n := newNet(scope, x.Graph())
	return n.toNHWC(n.conv(scope, n.fromNHWC(x), cout, k))
}

// net builds graphs in one of two formulations chosen per graph:
//
//   - cm (the default on the Go backend): feature maps are channel-major
//     [C, B, H, W]; convolutions are im2col plus one matrix product, with
//     hand-written gradients (customVJP) whose products need no transposes
//     of feature maps; ReLU and the 3 x 3 mean pool have hand-written
//     gradients too.
//   - otherwise: NHWC [B, H, W, C], graph.Convolve and GoMLX's autodiff
//     throughout: the plain formulation, for XLA.
//
// Feature maps are passed as channel groups ([]*graph.Node, concatenated on
// the channel axis when needed) so that the branches of an Inception block
// are never concatenated and sliced again.
type net struct {
	cm bool
	// frame: Embedding runs in the frame layout (frame.go) where it can
	// (no normalisation); cm is then true as well, for everything else.
	frame bool
	// auto: the formulation was chosen by backend, not named; Embedding
	// then keeps batches smaller than frameMinBatch in im2col.
	auto bool
}

// frameMinBatch is the smallest batch Embedding lays out in frames when the
// formulation is chosen by backend: on a few images the layout's margins
// and extra operations cost more than it saves (BenchmarkInferenceBatch: 462
// against 707 images/s for one image, 821 against 881 for four, 1,276
// against 963 for sixteen).
const frameMinBatch = 8

func newNet(scope *model.Scope, g *graph.Graph) net {
	switch impl := model.GetParamOr(scope, ParamConvImpl, ConvAuto); impl {
	case ConvIm2col:
		return net{cm: true}
	case ConvFrame:
		return net{cm: true, frame: true}
	case ConvNative:
		return net{}
	case ConvAuto, "":
		if isGoBackend(g) {
			return net{cm: true, frame: true, auto: true}
		}
		return net{}
	default:
		panicf("scope parameter %s = %q: want %q, %q, %q or %q", ParamConvImpl, impl, ConvAuto, ConvFrame, ConvIm2col, ConvNative)
		return net{}
	}
}

// chAxis is the channel axis; hAxis and wAxis the spatial ones.
func (n net) chAxis() int {
	if n.cm {
		return 0
	}
	return 3
}

func (n net) hAxis() int {
	if n.cm {
		return 2
	}
	return 1
}

func (n net) wAxis() int { return n.hAxis() + 1 }

// channels is the channel count of x.
func (n net) channels(x *graph.Node) int { return x.Shape().Dimensions[n.chAxis()] }

// fromNHWC converts an NHWC tensor to n's layout; toNHWC converts back.
func (n net) fromNHWC(x *graph.Node) *graph.Node {
	if !n.cm {
		return x
	}
	return graph.TransposeAllAxes(x, 3, 0, 1, 2)
}

func (n net) toNHWC(x *graph.Node) *graph.Node {
	if !n.cm {
		return x
	}
	return graph.TransposeAllAxes(x, 1, 2, 3, 0)
}

// concat joins channel groups.
func (n net) concat(xs []*graph.Node) *graph.Node { return concatOrOne(xs, n.chAxis()) }

// concatOrOne concatenates xs on axis, or returns a lone x as is.
func concatOrOne(xs []*graph.Node, axis int) *graph.Node {
	if len(xs) == 1 {
		return xs[0]
	}
	return graph.Concatenate(xs, axis)
}

// convVars returns the kernel [k, k, cin, cout] and bias [cout] in scope.
func convVars(scope *model.Scope, g *graph.Graph, x *graph.Node, k, cin, cout int) (kernel, bias *graph.Node) {
	kernel = heVariable(scope, x.DType(), "weights", k*k*cin, k, k, cin, cout).NodeValue(g)
	bias = heVariable(scope, x.DType(), "biases", 0, cout).NodeValue(g)
	return kernel, bias
}

// conv is a k x k "same" convolution with bias of x, variables in scope.
func (n net) conv(scope *model.Scope, x *graph.Node, cout, k int) *graph.Node {
	if k == 1 {
		return n.pointwise([]*model.Scope{scope}, []*graph.Node{x}, []int{cout})[0]
	}
	kernel, bias := convVars(scope, x.Graph(), x, k, n.channels(x), cout)
	if n.cm {
		return convCM(x, kernel, bias)
	}
	y := graph.Convolve(x, kernel).PadSame().Done()
	return graph.Add(y, graph.Reshape(bias, 1, 1, 1, cout))
}

// pointwise applies len(couts) 1 x 1 convolutions with bias, variables in
// scopes[j], to the same input: the channel groups xs, concatenated.
func (n net) pointwise(scopes []*model.Scope, xs []*graph.Node, couts []int) []*graph.Node {
	cin := 0
	for _, x := range xs {
		cin += n.channels(x)
	}
	g := xs[0].Graph()
	kernels := make([]*graph.Node, len(couts))
	biases := make([]*graph.Node, len(couts))
	for j, cout := range couts {
		kernels[j], biases[j] = convVars(scopes[j], g, xs[0], 1, cin, cout)
	}
	if n.cm {
		return pointwiseCM(xs, kernels, biases, onesRow(xs[0]))
	}
	x := n.concat(xs)
	ys := make([]*graph.Node, len(couts))
	for j, cout := range couts {
		y := graph.DotGeneral(x, []int{3}, nil, graph.Reshape(kernels[j], cin, cout), []int{0}, nil)
		ys[j] = graph.Add(y, graph.Reshape(biases[j], 1, 1, 1, cout))
	}
	return ys
}

// pointwiseCM computes, for every j, Y_j = W_j^T X + b_j where X is the
// concatenation of the channel-major groups xs [Cin_i, B, H, W] (Cin in
// all), W_j the kernel [1, 1, Cin, C_j] and b_j [C_j]; the bias rides on a
// row of ones appended to X, as in convCM. Backward, with dY = the adjoints
// concatenated [sum C_j, B, H, W]: dW_j^T = dY_j X^T (both operands contract
// their last axes; the last column is db_j) and, per group, dX_i = W[i] dY
// with W [Cin, sum C_j] the kernels side by side, W[i] the rows of group i
// (left operand contracts its last axis, right its first). The input is
// concatenated once; no feature map is transposed or sliced.
//
// The groups may have any rank >= 2 (channels first, then the axes of the
// map). ones, shaped like one channel of the map, is the row the biases
// ride on: onesRow for [C, B, H, W] maps, the valid-pixel mask in the frame
// layout (which keeps the output zero off the pixels).
func pointwiseCM(xs, kernels, biases []*graph.Node, ones *graph.Node) []*graph.Node {
	ng, nk := len(xs), len(kernels)
	cin := kernels[0].Shape().Dimensions[2]
	mapAxes := make([]int, xs[0].Rank()-1)
	for i := range mapAxes {
		mapAxes[i] = i + 1
	}
	var x *graph.Node
	forward := func(ins []*graph.Node) []*graph.Node {
		x = graph.Concatenate(append(append([]*graph.Node{}, ins[:ng]...), ones), 0)
		ys := make([]*graph.Node, nk)
		for j := range nk {
			wt := graph.Transpose(withBias(ins[ng+j], ins[ng+nk+j]), 0, 1) // [C_j, Cin+1]
			ys[j] = graph.DotGeneral(wt, []int{1}, nil, x, []int{0}, nil)
		}
		return ys
	}
	backward := func(ins, ys, dys []*graph.Node) []*graph.Node {
		grads := make([]*graph.Node, ng+2*nk)
		dyAll := make([]*graph.Node, nk)
		wAll := make([]*graph.Node, nk)
		any := false
		for j, dy := range dys {
			kern := ins[ng+j]
			cout := kern.Shape().Dimensions[3]
			wAll[j] = graph.Reshape(kern, cin, cout)
			if dy == nil {
				dyAll[j] = graph.ZerosLike(ys[j])
				continue
			}
			any = true
			dyAll[j] = dy
			dwt := graph.DotGeneral(dy, mapAxes, nil, x, mapAxes, nil) // [C_j, Cin+1]
			grads[ng+j], grads[ng+nk+j] = splitBiasGrad(dwt, 1, cin, cout)
		}
		if !any {
			return grads
		}
		dy := concatOrOne(dyAll, 0)
		w := concatOrOne(wAll, 1) // [Cin, sum C_j]
		off := 0
		for i := range ng {
			c := ins[i].Shape().Dimensions[0]
			wi := w
			if ng > 1 {
				wi = graph.Slice(w, graph.AxisRange(off, off+c), graph.AxisRange())
			}
			grads[i] = graph.DotGeneral(wi, []int{1}, nil, dy, []int{0}, nil)
			off += c
		}
		return grads
	}
	inputs := make([]*graph.Node, 0, ng+2*nk)
	inputs = append(append(append(inputs, xs...), kernels...), biases...)
	return customVJP(inputs, forward, backward)
}

// convCM is the channel-major im2col convolution with bias of x
// [Cin, B, H, W] with kernel [k, k, Cin, Cout] (k > 1) and bias [Cout]; the
// result is [Cout, B, H, W].
//
// Forward: P = im2col(x) [k*k*Cin+1, B, H, W] (the k*k shifted windows of
// the zero-padded input, concatenated on the channel axis in kernel order,
// and a row of ones), then Y = W^T P with W [k*k*Cin+1, Cout] the kernel
// stacked over the bias. Backward, with dY [Cout, B, H, W]: dW^T = dY P^T
// (both operands contract their last axes; its last column is the bias
// gradient), dP = W dY (kernel rows only; left operand contracts its last
// axis, right its first) and dX = col2im(dP), the windows of dP added back
// at their shifts. No feature map is transposed.
func convCM(x, kernel, bias *graph.Node) *graph.Node {
	kd := kernel.Shape().Dimensions
	k, cin, cout := kd[0], kd[2], kd[3]
	var patches *graph.Node
	forward := func(ins []*graph.Node) []*graph.Node {
		patches = im2colCM(ins[0], k)
		wt := graph.Transpose(withBias(ins[1], ins[2]), 0, 1) // [Cout, K+1]
		return []*graph.Node{graph.DotGeneral(wt, []int{1}, nil, patches, []int{0}, nil)}
	}
	backward := func(ins, _, dys []*graph.Node) []*graph.Node {
		dy := dys[0]
		if dy == nil {
			return make([]*graph.Node, 3)
		}
		dwt := graph.DotGeneral(dy, []int{1, 2, 3}, nil, patches, []int{1, 2, 3}, nil) // [Cout, K+1]
		dw, db := splitBiasGrad(dwt, k, cin, cout)
		wm := graph.Reshape(ins[1], k*k*cin, cout)
		dp := graph.DotGeneral(wm, []int{1}, nil, dy, []int{0}, nil) // [K, B, H, W]
		return []*graph.Node{col2imCM(dp, k, cin), dw, db}
	}
	return customVJP([]*graph.Node{x, kernel, bias}, forward, backward)[0]
}

// onesRow is a channel-major map of ones [1, B, H, W] shaped like x's
// batch and spatial axes: appended to the im2col patches, it folds the bias
// into the matrix product (no broadcast add forward, no reduction backward;
// the Go backend runs both element by element, slowly).
func onesRow(x *graph.Node) *graph.Node {
	return graph.Ones(x.Graph(), sliceShape(x, 0, 1))
}

// withBias stacks the kernel [k, k, Cin, Cout], reshaped to [k*k*Cin, Cout],
// over the bias [Cout]: [k*k*Cin+1, Cout], the weights for patches that end
// with onesRow.
func withBias(kernel, bias *graph.Node) *graph.Node {
	kd := kernel.Shape().Dimensions
	k2cin, cout := kd[0]*kd[1]*kd[2], kd[3]
	return graph.Concatenate([]*graph.Node{graph.Reshape(kernel, k2cin, cout), graph.Reshape(bias, 1, cout)}, 0)
}

// splitBiasGrad splits the gradient [Cout, k*k*Cin+1] of withBias's
// transpose into the kernel's [k, k, Cin, Cout] and the bias's [Cout].
func splitBiasGrad(dwt *graph.Node, k, cin, cout int) (dKernel, dBias *graph.Node) {
	kk := k * k * cin
	dw := graph.Slice(dwt, graph.AxisRange(), graph.AxisRange(0, kk))
	dKernel = graph.Reshape(graph.Transpose(dw, 0, 1), k, k, cin, cout)
	dBias = graph.Reshape(graph.Slice(dwt, graph.AxisRange(), graph.AxisRange(kk, kk+1)), cout)
	return dKernel, dBias
}

// im2colCM returns the k*k shifted windows of the zero-padded channel-major
// x [C, B, H, W], concatenated on the channel axis, and a row of ones:
// [k*k*C+1, B, H, W], channel index (dy*k + dx)*C + c, the order of a
// [k, k, C, Cout] kernel, then the ones that carry the bias.
func im2colCM(x *graph.Node, k int) *graph.Node {
	d := x.Shape().Dimensions
	h, w := d[2], d[3]
	xp := padSpatial(x, 2, k/2)
	cols := make([]*graph.Node, 0, k*k)
	for dy := range k {
		for dx := range k {
			cols = append(cols, graph.Slice(xp, graph.AxisRange(), graph.AxisRange(),
				graph.AxisRange(dy, dy+h), graph.AxisRange(dx, dx+w)))
		}
	}
	return graph.Concatenate(append(cols, onesRow(x)), 0)
}

// col2imCM is the adjoint of im2colCM: dp [k*k*C, B, H, W] -> [C, B, H, W],
// each window's block added back at its shift.
func col2imCM(dp *graph.Node, k, c int) *graph.Node {
	d := dp.Shape().Dimensions
	h, w := d[2], d[3]
	p := k / 2
	dpp := padSpatial(dp, 2, p)
	var dx *graph.Node
	for dy := range k {
		for dxx := range k {
			s := dy*k + dxx
			// Output pixel (y, x) read input (y+dy-p, x+dxx-p); in the padded
			// dp the window for input rows 0..h starts at row 2p-dy.
			win := graph.Slice(dpp, graph.AxisRange(s*c, (s+1)*c), graph.AxisRange(),
				graph.AxisRange(2*p-dy, 2*p-dy+h), graph.AxisRange(2*p-dxx, 2*p-dxx+w))
			if dx == nil {
				dx = win
			} else {
				dx = graph.Add(dx, win)
			}
		}
	}
	return dx
}

// padSpatial zero-pads axes hAxis and hAxis+1 of the rank-4 x by p on each
// side. It concatenates zeros rather than calling graph.Pad, which has no
// gradient in GoMLX.
func padSpatial(x *graph.Node, hAxis, p int) *graph.Node {
	if p == 0 {
		return x
	}
	g := x.Graph()
	for _, axis := range []int{hAxis, hAxis + 1} {
		z := graph.Zeros(g, sliceShape(x, axis, p))
		x = graph.Concatenate([]*graph.Node{z, x, z}, axis)
	}
	return x
}
