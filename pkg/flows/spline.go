package flows

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Minimum bin sizes and knot derivative of the rational-quadratic spline, as
// fractions of the interval [-B, B] (widths, heights) and as a slope. They keep
// every bin invertible and bounded away from zero size (the values of
// Durkan et al. 2019 and nflows).
const (
	MinBinWidth   = 1e-3
	MinBinHeight  = 1e-3
	MinDerivative = 1e-3
)

// derivativeShift is added to the unnormalised interior derivatives before
// the softplus so that an unnormalised value of 0 maps to a derivative of
// exactly 1: MinDerivative + softplus(0 + shift) = 1. With all unnormalised
// parameters zero the spline is therefore the identity.
var derivativeShift = math.Log(math.Expm1(1 - MinDerivative))

// RQSpline applies the elementwise monotone rational-quadratic spline of
// Durkan, Bekasov, Murray & Papamakarios (2019, arXiv:1906.04032, section
// 3.1) to x.
//
// The spline maps [-bound, bound] onto itself through K >= 2 bins and is
// the identity outside (linear tails). widths and heights have shape
// x.shape + [K], derivatives x.shape + [K-1]; the three may have 1 on the
// same axes of x, to share one spline among many elements (e.g. one per
// context row for S samples). widths and heights are unnormalised: a
// softmax over the last axis, with a minimum bin size (MinBinWidth,
// MinBinHeight), gives the bin sizes as fractions of 2 bound. derivatives
// are the slopes at the interior knots, MinDerivative + softplus(d + c),
// with c chosen so that d = 0 gives slope 1. The slopes at the two end
// knots are 1, so the spline joins the identity tails with a continuous
// derivative. All parameters zero is the identity map (to rounding).
//
// With inverse false it returns y = s(x) and log|ds/dx|; with inverse true it
// returns y = s^-1(x) (the root of a quadratic) and log|ds^-1/dx| = -log|ds/dy|.
// Both are elementwise, shaped like x. The dtype is x's (float32 or float64).
//
// Inconsistent shapes panic while the graph is built (the GoMLX convention;
// graph executors turn such panics into errors).
func RQSpline(x, widths, heights, derivatives *graph.Node, bound float64, inverse bool) (y, logAbsDet *graph.Node) {
	checkSplineShapes(x, widths, heights, derivatives)
	if !(bound > 0) || math.IsInf(bound, 0) {
		exceptions.Panicf("flows.RQSpline: bound must be positive and finite, got %g", bound)
	}
	p := newSplineParams(widths, heights, derivatives, bound)
	return p.apply(x, inverse)
}

func checkSplineShapes(x, widths, heights, derivatives *graph.Node) {
	if !x.DType().IsFloat() {
		exceptions.Panicf("flows.RQSpline: x must be float, got %s", x.Shape())
	}
	k := widths.Shape().Dim(-1)
	if k < 2 {
		exceptions.Panicf("flows.RQSpline: need at least 2 bins, widths %s", widths.Shape())
	}
	want := append(x.Shape().Clone().Dimensions, k)
	pb := widths.Shape().Dimensions[:widths.Rank()-1]
	for _, c := range []struct {
		name string
		n    *graph.Node
		last int
	}{{"widths", widths, k}, {"heights", heights, k}, {"derivatives", derivatives, k - 1}} {
		want[len(want)-1] = c.last
		s := c.n.Shape()
		if s.DType != x.DType() || s.Rank() != len(want) {
			exceptions.Panicf("flows.RQSpline: %s has shape %s, want %v of %s (x %s, %d bins)", c.name, s, want, x.DType(), x.Shape(), k)
		}
		for i, d := range want {
			if s.Dimensions[i] != d && (i == len(want)-1 || s.Dimensions[i] != 1) {
				exceptions.Panicf("flows.RQSpline: %s has shape %s, want %v (x %s, %d bins)", c.name, s, want, x.Shape(), k)
			}
			if i < len(pb) && s.Dimensions[i] != pb[i] {
				exceptions.Panicf("flows.RQSpline: %s has shape %s, widths %s: the parameters must share their leading axes", c.name, s, widths.Shape())
			}
		}
	}
}

// splineParams holds the normalised spline: knot positions and slopes, each
// with the parameters' batch shape pb and a last axis over the K+1 knots.
type splineParams struct {
	bound float64
	bins  int
	dtype dtypes.DType
	cumW  *graph.Node // [pb..., K+1] x positions of the knots, -B ... B.
	cumH  *graph.Node // [pb..., K+1] y positions of the knots.
	deriv *graph.Node // [pb..., K+1] slopes at the knots (1 at both ends).
}

func newSplineParams(widths, heights, derivatives *graph.Node, bound float64) *splineParams {
	k := widths.Shape().Dim(-1)
	p := &splineParams{bound: bound, bins: k, dtype: widths.DType()}
	p.cumW = knots(widths, bound, MinBinWidth)
	p.cumH = knots(heights, bound, MinBinHeight)
	g := widths.Graph()
	d := graph.AddScalar(softplus(graph.AddScalar(derivatives, derivativeShift)), MinDerivative)
	oneShape := derivatives.Shape().Clone()
	oneShape.Dimensions[oneShape.Rank()-1] = 1
	one := graph.BroadcastToShape(graph.ScalarOne(g, p.dtype), oneShape)
	p.deriv = graph.Concatenate([]*graph.Node{one, d, one}, -1)
	return p
}

// softplus is log(1 + exp(x)) written so that it neither overflows nor loses
// precision: max(x, 0) + log1p(exp(-|x|)).
func softplus(x *graph.Node) *graph.Node {
	return graph.Add(graph.MaxScalar(x, 0), graph.Log1p(graph.Exp(graph.Neg(graph.Abs(x)))))
}

// knots turns unnormalised bin sizes u ([..., K]) into the K+1 knot
// positions on [-bound, bound]: with s = softmax(u) and bin fractions
// f_i = m + (1 - m K) s_i (m the minimum size), knot j is
// -B + 2B sum_{i<j} f_i. As sum_i s_i = 1 this is linear in s, one product
// with a constant [K, K+1] matrix (CumSum lowers to a ReduceWindow, slow on
// the Go backend); the end knots are -B and B to rounding.
func knots(unnorm *graph.Node, bound, minSize float64) *graph.Node {
	g := unnorm.Graph()
	k := unnorm.Shape().Dim(-1)
	scale := 2 * bound * (1 - minSize*float64(k))
	t := make([]float64, k*(k+1))
	for i := range k {
		for j := range k + 1 {
			v := -bound + 2*bound*minSize*float64(j)
			if i < j {
				v += scale
			}
			t[i*(k+1)+j] = v
		}
	}
	tNode := graph.ConvertDType(graph.Const(g, tensors.FromFlatDataAndDimensions(t, k, k+1)), unnorm.DType())
	s := graph.Softmax(unnorm, -1)
	cum := graph.Dot(graph.Reshape(s, unnorm.Shape().Size()/k, k), tNode).Product()
	dims := unnorm.Shape().Clone().Dimensions
	dims[len(dims)-1] = k + 1
	return graph.Reshape(cum, dims...)
}

// Columns of the per-bin table: the knots at both ends of each bin.
const (
	colX0 = iota // Left knot x.
	colY0        // Left knot y.
	colD0        // Slope at the left knot.
	colX1        // Right knot x.
	colY1        // Right knot y.
	colD1        // Slope at the right knot.
	numCols
)

// table returns the per-bin quantities [pb..., K, numCols].
func (p *splineParams) table() *graph.Node {
	k := p.bins
	knotTab := graph.Stack([]*graph.Node{p.cumW, p.cumH, p.deriv}, -1) // [pb..., K+1, 3]
	axis := knotTab.Rank() - 2
	return graph.Concatenate([]*graph.Node{
		graph.SliceAxis(knotTab, axis, graph.AxisRange(0, k)),
		graph.SliceAxis(knotTab, axis, graph.AxisRange(1, k+1)),
	}, -1)
}

// binIndex returns, for each element of v ([...], int32), the index of its
// bin among knots ([pb..., K+1]): the number of interior knots <= v. Callers
// clamp v to the interval first.
func (p *splineParams) binIndex(v, knots *graph.Node) *graph.Node {
	interior := graph.SliceAxis(knots, -1, graph.AxisRange(1, p.bins))
	ge := graph.GreaterOrEqual(graph.InsertAxes(v, -1), interior) // Broadcasts shared parameters.
	return graph.ReduceSum(graph.ConvertDType(ge, dtypes.Int32), -1)
}

// sharedRows reports whether the parameters' batch shape pb is x's shape
// on a prefix of axes and 1 on the rest, with some sharing: each of the M
// parameter rows then serves R = x.size / M consecutive elements of x.
func sharedRows(pb, xd []int) (m, r int, ok bool) {
	m = 1
	prefix := true
	for i, d := range pb {
		switch {
		case prefix && d == xd[i]:
			m *= d
		case d == 1:
			prefix = false
		default:
			return 0, 0, false
		}
	}
	size := 1
	for _, d := range xd {
		size *= d
	}
	return m, size / m, size > m
}

// binValues returns the table quantities of the bin of each element of v
// ([...], clamped to the interval), one node shaped like v per column,
// selecting the bin with knots ([pb..., K+1], the x or the y knots).
//
// Two equivalent ways, chosen for speed on the pure-Go backend: when the
// parameters are shared by many elements (a 1-D flow's spline is per
// context row, shared by its S samples) a value is the sum of the steps
// q_j - q_{j-1} (q_{-1} = 0) over the knots j < K at or below v, one batched
// matrix product with the 0/1 step matrix, laid out so that each column
// comes out contiguous. Otherwise each element's knot values are gathered
// from the flattened knot arrays by index.
func (p *splineParams) binValues(v, knots *graph.Node) []*graph.Node {
	k := p.bins
	pb := p.cumW.Shape().Dimensions[:p.cumW.Rank()-1]
	xd := v.Shape().Dimensions
	if m, r, ok := sharedRows(pb, xd); ok {
		tab := graph.Reshape(p.table(), m, k, numCols)
		prev := graph.Concatenate([]*graph.Node{
			graph.ZerosLike(graph.SliceAxis(tab, 1, graph.AxisRange(0, 1))),
			graph.SliceAxis(tab, 1, graph.AxisRange(0, k-1)),
		}, 1)
		dq := graph.Sub(tab, prev)
		// Thresholds: -inf (every element counts bin 0), then the interior knots.
		interior := graph.Reshape(graph.SliceAxis(knots, -1, graph.AxisRange(1, k)), m, 1, k-1)
		minusInf := graph.BroadcastToDims(graph.Scalar(v.Graph(), p.dtype, math.Inf(-1)), m, 1, 1)
		low := graph.Concatenate([]*graph.Node{minusInf, interior}, -1)
		step := graph.ConvertDType(graph.GreaterOrEqual(graph.Reshape(v, m, r, 1), low), p.dtype) // [M, R, K]
		// [M, K, numCols] x [M, R, K] -> [M, numCols, R].
		vals := graph.DotGeneral(dq, []int{1}, []int{0}, step, []int{2}, []int{0})
		cols := graph.Split(vals, 1, numCols)
		for c := range cols {
			cols[c] = graph.Reshape(cols[c], xd...)
		}
		return cols
	}
	g := v.Graph()
	flat := p.binIndex(v, knots)
	// Flat position of the left knot in a [pb..., K+1] array.
	stride := k + 1
	idxShape := shapes.Make(dtypes.Int32, xd...)
	for axis := len(pb) - 1; axis >= 0; axis-- {
		if pb[axis] != 1 {
			flat = graph.Add(flat, graph.MulScalar(graph.Iota(g, idxShape, axis), stride))
		}
		stride *= pb[axis]
	}
	left := graph.InsertAxes(flat, -1)
	right := graph.AddScalar(left, 1)
	var cols [numCols]*graph.Node
	for i, a := range []*graph.Node{p.cumW, p.cumH, p.deriv} {
		a = graph.Reshape(a, a.Shape().Size(), 1)
		cols[colX0+i] = graph.Reshape(graph.Gather(a, left), xd...)
		cols[colX1+i] = graph.Reshape(graph.Gather(a, right), xd...)
	}
	return cols[:]
}

func (p *splineParams) apply(x *graph.Node, inverse bool) (y, logAbsDet *graph.Node) {
	b := p.bound
	g := x.Graph()
	inside := graph.LogicalAnd(graph.GreaterOrEqual(x, graph.Scalar(g, p.dtype, -b)),
		graph.LessOrEqual(x, graph.Scalar(g, p.dtype, b)))
	xc := graph.ClipScalar(x, -b, b)

	knots := p.cumW
	if inverse {
		knots = p.cumH
	}
	v := p.binValues(xc, knots)
	x0, y0, d0, d1 := v[colX0], v[colY0], v[colD0], v[colD1]
	w, h := graph.Sub(v[colX1], x0), graph.Sub(v[colY1], y0)
	delta := graph.Div(h, w)
	sumD := graph.Sub(graph.Add(d0, d1), graph.MulScalar(delta, 2)) // d0 + d1 - 2 delta

	var theta, out *graph.Node
	if inverse {
		// Solve a theta^2 + b theta + c = 0 for theta in [0, 1] (Durkan et
		// al. 2019, eqs. 6-8), with the numerically stable root 2c / (-b - sqrt(disc)).
		dy := graph.Sub(xc, y0)
		dyS := graph.Mul(dy, sumD)
		a := graph.Add(graph.Mul(h, graph.Sub(delta, d0)), dyS)
		bq := graph.Sub(graph.Mul(h, d0), dyS)
		c := graph.Neg(graph.Mul(delta, dy))
		disc := graph.MaxScalar(graph.Sub(graph.Mul(bq, bq), graph.MulScalar(graph.Mul(a, c), 4)), 0)
		theta = graph.Div(graph.MulScalar(c, 2), graph.Sub(graph.Neg(bq), graph.Sqrt(disc)))
		out = graph.Add(graph.Mul(theta, w), x0)
	} else {
		theta = graph.Div(graph.Sub(xc, x0), w)
	}
	omt := graph.OneMinus(theta)
	t1mt := graph.Mul(theta, omt)
	tt := graph.Mul(theta, theta)
	denom := graph.Add(delta, graph.Mul(sumD, t1mt))
	if !inverse {
		num := graph.Mul(h, graph.Add(graph.Mul(delta, tt), graph.Mul(d0, t1mt)))
		out = graph.Add(y0, graph.Div(num, denom))
	}
	// ds/dx = delta^2 (d1 theta^2 + 2 delta theta(1-theta) + d0 (1-theta)^2) / denom^2.
	dnum := graph.Add(graph.Add(graph.Mul(d1, tt), graph.Mul(graph.MulScalar(delta, 2), t1mt)),
		graph.Mul(d0, graph.Mul(omt, omt)))
	lad := graph.Sub(graph.Log(dnum), graph.MulScalar(graph.Log(graph.Div(denom, delta)), 2))
	if inverse {
		lad = graph.Neg(lad)
	}
	y = graph.Where(inside, out, x)
	logAbsDet = graph.Where(inside, lad, graph.ZerosLike(x))
	return y, logAbsDet
}
