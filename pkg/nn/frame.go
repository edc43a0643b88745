package nn

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// The frame layout: Embedding's formulation on the pure-Go backend
// (ParamConvImpl "frame", the default there).
//
// The im2col formulation spends most of its time cutting the k*k shifted
// windows out of a zero-padded feature map: the Go backend slices element
// by element, while it concatenates by copying whole blocks. In the frame
// layout a shifted window needs no slice. Each channel of a batch of B
// h x w feature maps is one row of a [C, L] matrix holding a canvas of
// rows of w+1 columns: a zero row, then B "slots" of h+1 rows (a zero
// separator row and the image's rows, each followed by a zero column), then
// a last zero separator row. A pixel's 3 x 3 neighbours are then at fixed
// offsets along the row ((dy-1)(w+1) + (dx-1)), and every neighbour
// outside the image lands on a zero. The k*k windows are shifted copies of
// whole rows, made by one Concatenate of the rows with zero blocks between
// them (shiftConcat); a convolution is that and one matrix product.
//
// Frames grow: a convolution's output has t more columns on each side than
// its input (t two canvas rows, or four for the branches of an Inception
// block that take one step where another takes two, so that all end in the
// same frame) instead of a cropped input, which would take a slice. A
// frameMap records where the canvas starts in its matrix (off). Every
// column that is not a pixel holds an exact zero as long as the images are
// finite:
// pointwise convolutions take their bias on the valid-pixel mask; a 3 x 3
// convolution takes two constant rows beside the shifted copies of its
// input (unshifted: they describe the output's columns), the mask
// (carrying the bias) and a row that is -1 off the pixels, weighted 1e30,
// so that the activation (ReLU, or SiLU) zeroes those columns; the mean
// pool is multiplied by its count map, zero off the pixels. Only the gradient of a
// convolution's input is cropped (one slice of the input's size, against
// k*k of them for im2col). The mean pools' window sums are sums of
// shifted copies (boxSum: zero-padded copies and Adds, along the rows then
// across them), not matrix products with constant weights, which cost as
// much as a convolution with as many outputs as inputs: with them
// `lenssbi infer` of a marginal model with a full-resolution theta_E
// network took 16.1-16.3 s, with boxSum 13.4-13.7 s (2,500 x 1,000, 2
// views, 2 cores, interleaved). A 2x2 pool is a box sum and one strided
// slice, which leaves the layout; the pooled maps are laid out again (by
// concatenation) for the next block, and the readout takes them as they
// are. The margins cost little: for a batch of 64 24x24 maps a block's
// output spans 1,610 canvas rows, against 1,600 in the images' slots.

// offGrid is the weight of the off-pixel row of a convolution's input:
// large enough that the activation of every off-pixel column is exactly
// zero, small enough that float32 does not overflow in the forward pass
// (the activations' hand-written gradients never multiply by it).
const offGrid = 1e30

// frameGeom is the canvas geometry for b images of h x w pixels.
type frameGeom struct{ b, h, w int }

// wp is the canvas row length (an image row and its zero column).
func (f frameGeom) wp() int { return f.w + 1 }

// slot is the canvas length of one image: a separator row and h rows.
func (f frameGeom) slot() int { return (f.h + 1) * f.wp() }

// canvas is the length of the canvas: a zero row, b image slots and a
// separator row.
func (f frameGeom) canvas() int { return f.b*f.slot() + 2*f.wp() }

// step is the growth of a 3 x 3 convolution's output on each side: two
// canvas rows (at least the largest offset, wp+1; whole rows keep the
// canvas's rows aligned with the matrix's).
func (f frameGeom) step() int { return 2 * f.wp() }

// slotStart returns the canvas column where image b's slot begins (after
// the canvas's first zero row).
func (f frameGeom) slotStart(b int) int { return f.wp() + b*f.slot() }

// offsets3 are the canvas offsets of the 3 x 3 neighbourhood in kernel
// order (dy major, dx minor).
func (f frameGeom) offsets3() []int {
	o := make([]int, 0, 9)
	for dy := range 3 {
		for dx := range 3 {
			o = append(o, (dy-1)*f.wp()+dx-1)
		}
	}
	return o
}

// frameMap is a channel-major feature map [C, L] in the frame layout: the
// canvas starts at column off (off and L are whole canvas rows); every
// column that is not a pixel is zero.
type frameMap struct {
	x   *graph.Node
	off int
	f   frameGeom
}

// channels is the number of rows of the map's matrix, length its columns.
func (m frameMap) channels() int { return m.x.Shape().Dimensions[0] }
func (m frameMap) length() int   { return m.x.Shape().Dimensions[1] }

// toFrame lays out the channel-major x [C, B, h, w] as a frameMap with
// off = 0 and L = the canvas length. Its gradient is dense's slice.
func toFrame(x *graph.Node) frameMap {
	d := x.Shape().Dimensions
	f := frameGeom{b: d[1], h: d[2], w: d[3]}
	y := customVJP([]*graph.Node{x}, func(ins []*graph.Node) []*graph.Node {
		return []*graph.Node{place(ins[0], f, 0, f.canvas())}
	}, func(_, _, dys []*graph.Node) []*graph.Node {
		if dys[0] == nil {
			return []*graph.Node{nil}
		}
		return []*graph.Node{frameMap{x: dys[0], off: 0, f: f}.slice(1)}
	})[0]
	return frameMap{x: y, off: 0, f: f}
}

// place writes the channel-major x [C, B, h, w] into a zero [C, L] matrix
// as a canvas at column off, by concatenations.
func place(x *graph.Node, f frameGeom, off, length int) *graph.Node {
	c := x.Shape().Dimensions[0]
	g := x.Graph()
	x = graph.Concatenate([]*graph.Node{x, graph.Zeros(g, sliceShape(x, 3, 1))}, 3) // zero column
	x = graph.Concatenate([]*graph.Node{graph.Zeros(g, sliceShape(x, 2, 1)), x}, 2) // separator row
	x = graph.Reshape(x, c, f.b*f.slot())
	before := off + f.slotStart(0)
	return padColumns(x, before, length-before-f.b*f.slot())
}

// padColumns puts before zero columns in front of the [C, L] matrix x and
// after behind it, in one Concatenate (x itself when both are 0).
func padColumns(x *graph.Node, before, after int) *graph.Node {
	if before == 0 && after == 0 {
		return x
	}
	parts := make([]*graph.Node, 0, 3)
	if before > 0 {
		parts = append(parts, graph.Zeros(x.Graph(), sliceShape(x, 1, before)))
	}
	parts = append(parts, x)
	if after > 0 {
		parts = append(parts, graph.Zeros(x.Graph(), sliceShape(x, 1, after)))
	}
	return graph.Concatenate(parts, 1)
}

// slice returns every stride-th pixel row and column of m (from the first;
// h/stride rows and w/stride columns, so a 2x2 pool's odd last row or
// column is dropped), channel-major [C, B, h/stride, w/stride]: one slice
// of a [C, n, h+1, w+1] view of m, whose matrix is first padded with zero
// rows, where needed, to put the images' slots on that view's second axis.
func (m frameMap) slice(stride int) *graph.Node {
	f, wp, hp := m.f, m.f.wp(), m.f.h+1
	first, rows := m.off/wp+1, m.length()/wp // image 0's slot; the matrix's rows
	pre := (hp - first%hp) % hp
	post := (hp - (pre+rows)%hp) % hp
	x := padColumns(m.x, pre*wp, post*wp)
	v := graph.Reshape(x, m.channels(), (pre+rows+post)/hp, hp, wp)
	b0 := (pre + first) / hp
	nh, nw := f.h/stride, f.w/stride
	return graph.Slice(v, graph.AxisRange(), graph.AxisRange(b0, b0+f.b),
		graph.AxisRange(1, 1+stride*nh).Stride(stride), graph.AxisRange(0, stride*nw).Stride(stride))
}

// dense returns m's pixels channel-major, [C, B, h, w]. Its gradient is
// place.
func (m frameMap) dense() *graph.Node {
	return customVJP([]*graph.Node{m.x}, func(ins []*graph.Node) []*graph.Node {
		return []*graph.Node{frameMap{x: ins[0], off: m.off, f: m.f}.slice(1)}
	}, func(_, _, dys []*graph.Node) []*graph.Node {
		if dys[0] == nil {
			return []*graph.Node{nil}
		}
		return []*graph.Node{place(dys[0], m.f, m.off, m.length())}
	})[0]
}

// frameConst returns, as a [1, L] constant of like's graph and dtype,
// pixel(y, x) at every pixel's column of a map in geometry f with canvas
// offset off, and other elsewhere.
func frameConst(like *graph.Node, f frameGeom, off, length int, pixel func(y, x int) float64, other float64) *graph.Node {
	vals := make([]float64, length)
	for i := range vals {
		vals[i] = other
	}
	img := make([]float64, f.slot())
	for i := range img {
		img[i] = other
	}
	for y := range f.h {
		for x := range f.w {
			img[(y+1)*f.wp()+x] = pixel(y, x)
		}
	}
	for b := range f.b {
		copy(vals[off+f.slotStart(b):], img)
	}
	return constLike(like, vals, 1, length)
}

// valid is m's valid-pixel mask, [1, L]: 1 at the pixels, 0 elsewhere.
func (m frameMap) valid() *graph.Node {
	return frameConst(m.x, m.f, m.off, m.length(), func(int, int) float64 { return 1 }, 0)
}

// offPixels is [1, L]: 0 at m's pixels, -1 elsewhere.
func (m frameMap) offPixels() *graph.Node {
	return frameConst(m.x, m.f, m.off, m.length(), func(int, int) float64 { return 0 }, -1)
}

// shiftConcat returns the shifted copies of the rows of x [C, L]:
// [C*len(offs), L+2t], row c*len(offs)+s holding x[c, j-t+offs[s]] at
// column j (zero where that is outside x); t >= max |offs[s]|. It is one
// Concatenate of x and zero blocks: the copies of x lie back to back, with
// the zeros of one copy's end and the next one's start between them.
func shiftConcat(x *graph.Node, offs []int, t int) *graph.Node {
	c, l := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	g := x.Graph()
	pieces := make([]*graph.Node, 0, 2*len(offs)+1)
	zeros := func(n int) {
		if n > 0 {
			pieces = append(pieces, graph.Zeros(g, sliceShape(x, 1, n)))
		}
	}
	zeros(t - offs[0])
	for s, o := range offs {
		pieces = append(pieces, x)
		if s+1 < len(offs) {
			zeros(t + o + t - offs[s+1])
		} else {
			zeros(t + o)
		}
	}
	return graph.Reshape(graph.Concatenate(pieces, 1), c*len(offs), l+2*t)
}

// shiftConv is the correlation of the frame map x with weights wt
// [Cout, Cin*S + E] over the canvas offsets offs (S of them), plus E
// constant rows extra [1, L] each taken at each output column unshifted: Y[o, j] = sum over c, s of wt[o, c*S+s] x[c, j-t+offs[s]] +
// sum over e of wt[o, Cin*S+e] extra[e][j-t], [Cout, L+2t], the canvas t
// columns further on. Forward: Y = wt P with P the shifted copies
// (shiftConcat) and the extra rows. Backward, with dY: dwt = dY P^T (both
// operands contract their last axes), and dX the correlation of dY with
// the mirrored weights, by the same shifted copies (negated offsets, margin
// the largest |offset|), cropped to x's columns. wt's gradient flows to
// whatever built it.
//
// Output columns that are not pixels hold garbage unless the weights of the
// extra rows take care of it; dY must be zero there.
func shiftConv(x frameMap, extra []*graph.Node, wt *graph.Node, offs []int, t int) frameMap {
	cin, ns := x.channels(), len(offs)
	cout := wt.Shape().Dimensions[0]
	neg := make([]int, ns)
	for s, o := range offs {
		neg[s] = -o
	}
	lx := x.length()
	var patches *graph.Node
	forward := func(ins []*graph.Node) []*graph.Node {
		patches = graph.Concatenate([]*graph.Node{shiftConcat(ins[0], offs, t), padColumns(graph.Concatenate(extra, 0), t, t)}, 0)
		return []*graph.Node{graph.DotGeneral(ins[1], []int{1}, nil, patches, []int{0}, nil)}
	}
	backward := func(ins, _, dys []*graph.Node) []*graph.Node {
		dy := dys[0]
		if dy == nil {
			return make([]*graph.Node, 2)
		}
		dwt := graph.DotGeneral(dy, []int{1}, nil, patches, []int{1}, nil) // [Cout, Cin*S+E]
		tb := 0
		for _, o := range offs {
			tb = max(tb, o, -o)
		}
		q := shiftConcat(dy, neg, tb) // [Cout*S, L+2t+2tb]
		w := graph.Reshape(graph.Slice(ins[1], graph.AxisRange(), graph.AxisRange(0, cin*ns)), cout, cin, ns)
		wb := graph.Reshape(graph.TransposeAllAxes(w, 1, 0, 2), cin, cout*ns)
		full := graph.DotGeneral(wb, []int{1}, nil, q, []int{0}, nil) // [Cin, L+2t+2tb]
		dx := graph.Slice(full, graph.AxisRange(), graph.AxisRange(t+tb, t+tb+lx))
		return []*graph.Node{dx, dwt}
	}
	y := customVJP([]*graph.Node{x.x, wt}, forward, backward)[0]
	return frameMap{x: y, off: x.off + t, f: x.f}
}

// convActFrame is a 3 x 3 "same" convolution with bias of x, variables in
// scope, followed by the activation, t columns further on. Two constant
// rows join the shifted copies of the input, unshifted: the valid mask,
// which carries the bias, and offPixels, weighted offGrid, which sends
// every off-pixel column of the input's extent far below zero, where the
// activation is exactly zero. The t columns the output adds on each side
// read only zeros (t and the margins exceed every offset), so they are
// exactly zero before the activation, and after it.
func (n net) convActFrame(scope *model.Scope, act string, x frameMap, cout, t int) frameMap {
	g := x.x.Graph()
	cin := x.channels()
	kernel, bias := convVars(scope, g, x.x, 3, cin, cout)
	k := graph.Reshape(graph.TransposeAllAxes(kernel, 3, 2, 0, 1), cout, cin*9)
	big := graph.MulScalar(graph.OnesLike(bias), offGrid)
	wt := graph.Concatenate([]*graph.Node{k, graph.Reshape(bias, cout, 1), graph.Reshape(big, cout, 1)}, 1)
	y := shiftConv(x, []*graph.Node{x.valid(), x.offPixels()}, wt, x.f.offsets3(), t)
	y.x = n.activate(act, y.x)
	return y
}

// shiftSum returns the sum of the shifted copies of the rows of x [C, L]
// over offs: [C, L+2t], column j holding sum over s of x[c, j-t+offs[s]]
// (zero outside x); t >= max |offs[s]|. Forward: one zero-padded copy of x
// per offset (Concatenate, block copies) and Adds; backward: the same sum of
// dY with the offsets negated, cropped to x's columns (one slice).
func shiftSum(x *graph.Node, offs []int, t int) *graph.Node {
	l := x.Shape().Dimensions[1]
	neg := make([]int, len(offs))
	tb := 0
	for s, o := range offs {
		neg[s] = -o
		tb = max(tb, o, -o)
	}
	return customVJP([]*graph.Node{x}, func(ins []*graph.Node) []*graph.Node {
		return []*graph.Node{sumPadded(ins[0], offs, t)}
	}, func(_, _, dys []*graph.Node) []*graph.Node {
		if dys[0] == nil {
			return []*graph.Node{nil}
		}
		full := sumPadded(dys[0], neg, tb) // [C, L+2t+2tb]
		return []*graph.Node{graph.Slice(full, graph.AxisRange(), graph.AxisRange(t+tb, t+tb+l))}
	})[0]
}

// sumPadded is shiftSum's forward pass: the sum over offs of x with t-o zero
// columns before it and t+o after it.
func sumPadded(x *graph.Node, offs []int, t int) *graph.Node {
	var sum *graph.Node
	for _, o := range offs {
		p := padColumns(x, t-o, t+o)
		if sum == nil {
			sum = p
		} else {
			sum = graph.Add(sum, p)
		}
	}
	return sum
}

// boxSum returns the sums of x's k x k windows (k = len(dxs) = len(dys)
// offsets along and across the canvas rows), t columns further on: a
// separable shiftSum, along the rows (margin 1) then across them (margin
// t-1, at least the largest row offset).
func boxSum(x frameMap, dxs, dys []int, t int) frameMap {
	rows := make([]int, len(dys))
	for i, d := range dys {
		rows[i] = d * x.f.wp()
	}
	y := shiftSum(shiftSum(x.x, dxs, 1), rows, t-1)
	return frameMap{x: y, off: x.off + t, f: x.f}
}

// meanPool3x3Frame is meanPool3x3 (counting in-image pixels only) of the
// frame map x, t columns further on: the 3 x 3 box sum times the map of
// reciprocal counts, zero off the pixels.
func meanPool3x3Frame(x frameMap, t int) frameMap {
	y := boxSum(x, []int{-1, 0, 1}, []int{-1, 0, 1}, t)
	f := x.f
	y.x = graph.Mul(y.x, frameConst(y.x, f, y.off, y.length(), func(i, j int) float64 {
		return 1 / float64(count3(i, f.h)*count3(j, f.w))
	}, 0))
	return y
}

// meanPool2x2Frame is meanPool2x2 of the frame map x, channel-major
// [C, B, h/2, w/2]: a quarter of the 2 x 2 box sums at every other pixel
// row and column (odd sizes lose their last row or column, as in
// meanPool2x2).
func meanPool2x2Frame(x frameMap) *graph.Node {
	f := x.f
	if f.h < 2 || f.w < 2 {
		panicf("MeanPool2x2: %dx%d feature map is smaller than the 2x2 window", f.h, f.w)
	}
	y := boxSum(x, []int{0, 1}, []int{0, 1}, f.step())
	y.x = graph.MulScalar(y.x, 0.25)
	h2, w2 := f.h/2, f.w/2
	return customVJP([]*graph.Node{y.x}, func(ins []*graph.Node) []*graph.Node {
		return []*graph.Node{frameMap{x: ins[0], off: y.off, f: f}.slice(2)}
	}, func(_, _, dys []*graph.Node) []*graph.Node {
		dy := dys[0]
		if dy == nil {
			return []*graph.Node{nil}
		}
		// Back onto the even pixels, zeros on the odd ones: interleave
		// zero columns and rows by concatenating and reshaping.
		d := dy.Shape().Dimensions
		c, b := d[0], d[1]
		g := dy.Graph()
		u := graph.Reshape(dy, c, b, h2, w2, 1)
		u = graph.Concatenate([]*graph.Node{u, graph.Zeros(g, sliceShape(u, 4, 1))}, 4)
		u = graph.Reshape(u, c, b, h2, 1, 2*w2)
		u = graph.Concatenate([]*graph.Node{u, graph.Zeros(g, sliceShape(u, 3, 1))}, 3)
		u = graph.Reshape(u, c, b, 2*h2, 2*w2)
		if f.h%2 == 1 {
			u = graph.Concatenate([]*graph.Node{u, graph.Zeros(g, sliceShape(u, 2, 1))}, 2)
		}
		if f.w%2 == 1 {
			u = graph.Concatenate([]*graph.Node{u, graph.Zeros(g, sliceShape(u, 3, 1))}, 3)
		}
		return []*graph.Node{place(u, f, y.off, y.length())}
	})[0]
}

// alignFrame pads m with zero columns so that its canvas starts at off and
// its matrix has length L.
func alignFrame(m frameMap, off, length int) frameMap {
	before, after := off-m.off, length-off-(m.length()-m.off)
	if before < 0 || after < 0 {
		panicf("alignFrame: map [%d cols, canvas at %d] does not fit [%d, canvas at %d] (internal error)", m.length(), m.off, length, off)
	}
	return frameMap{x: padColumns(m.x, before, after), off: off, f: m.f}
}

// pointwiseFrame applies len(couts) 1 x 1 convolutions with bias,
// variables in scopes[j], to the frame maps xs (one frame),
// concatenated: pointwiseCM with the valid mask in place of the row of
// ones, so that the output stays zero off the pixels.
func pointwiseFrame(scopes []*model.Scope, xs []frameMap, couts []int) []frameMap {
	cin := 0
	nodes := make([]*graph.Node, len(xs))
	for i, x := range xs {
		cin += x.channels()
		nodes[i] = x.x
	}
	x0 := xs[0]
	g := x0.x.Graph()
	kernels := make([]*graph.Node, len(couts))
	biases := make([]*graph.Node, len(couts))
	for j, cout := range couts {
		kernels[j], biases[j] = convVars(scopes[j], g, x0.x, 1, cin, cout)
	}
	ys := pointwiseCM(nodes, kernels, biases, x0.valid())
	out := make([]frameMap, len(ys))
	for j, y := range ys {
		out[j] = frameMap{x: y, off: x0.off, f: x0.f}
	}
	return out
}

// inceptionFrame is inception in the frame layout: xs share one frame, and
// the four branches come back in one frame two steps further on (the 3x3
// branch and the pool in one double step, the 5x5 pair in two steps, the
// 1x1 branch padded).
func (n net) inceptionFrame(scope *model.Scope, xs []frameMap, cfg InceptionConfig) []frameMap {
	if err := cfg.Validate(); err != nil {
		panicf("Inception: %v", err)
	}
	act := cfg.Activation
	s := xs[0].f.step()
	red := pointwiseFrame([]*model.Scope{scope.In("1x1"), scope.In("3x3_reduce"), scope.In("5x5_reduce"), scope.In("pool_proj")},
		xs, []int{cfg.C1, cfg.C3Reduce, cfg.C5Reduce, cfg.CPool})
	for j := range 3 {
		red[j].x = n.activate(act, red[j].x)
	}
	b3 := n.convActFrame(scope.In("3x3"), act, red[1], cfg.C3, 2*s)
	b5 := n.convActFrame(scope.In("5x5a"), act, red[2], cfg.C5, s)
	b5 = n.convActFrame(scope.In("5x5b"), act, b5, cfg.C5, s)
	pool := meanPool3x3Frame(red[3], 2*s)
	pool.x = n.activate(act, pool.x)
	b1 := alignFrame(red[0], b3.off, b3.length())
	return []frameMap{b1, b3, b5, pool}
}
