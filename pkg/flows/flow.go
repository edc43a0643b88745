package flows

import (
	"math"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

// LogProb returns log q(theta | context) under the flow described by cfg,
// whose variables live under scope (created on first use).
//
// theta is [B, Dim] (result [B]) or [B, S, Dim] (result [B, S]: S values of
// theta for each context row); context is [B, E], or nil for an
// unconditional flow. Variables take theta's dtype when created. Bad shapes
// or an invalid cfg panic while the graph is built (the GoMLX convention;
// executors return them as errors).
func LogProb(scope *model.Scope, cfg Config, context, theta *graph.Node) *graph.Node {
	x, ctx, squeeze := prepare(cfg, context, theta, "theta")
	z, lad := forward(scope, cfg, ctx, x)
	lp := graph.Add(logNormal(z), lad)
	if squeeze {
		lp = graph.Reshape(lp, lp.Shape().Dim(0))
	}
	return lp
}

// Sample maps standard-normal noise [B, S, Dim] to samples theta
// [B, S, Dim] of q(theta | context), context [B, E] (or nil) being shared by
// the S samples of each row. The noise is drawn by the caller (on the host,
// from a seed), so samples are reproducible and backend independent.
func Sample(scope *model.Scope, cfg Config, context, noise *graph.Node) *graph.Node {
	theta, _ := SampleAndLogProb(scope, cfg, context, noise)
	return theta
}

// SampleAndLogProb is Sample that also returns log q(theta | context) of each
// sample ([B, S]), at the cost of a few elementwise operations: by the change
// of variables it is log N(noise) - log|d theta / d noise|.
func SampleAndLogProb(scope *model.Scope, cfg Config, context, noise *graph.Node) (theta, logProb *graph.Node) {
	if noise.Rank() != 3 {
		exceptions.Panicf("flows.Sample: noise must be [B, S, Dim], got %s", noise.Shape())
	}
	z, ctx, _ := prepare(cfg, context, noise, "noise")
	theta, lad := inverse(scope, cfg, ctx, z)
	return theta, graph.Sub(logNormal(z), lad)
}

// Forward maps theta ([B, S, Dim]) to the base space: z and
// log|det dz/dtheta| ([B, S]). LogProb is log N(z) + that log det.
func Forward(scope *model.Scope, cfg Config, context, theta *graph.Node) (z, logAbsDet *graph.Node) {
	if theta.Rank() != 3 {
		exceptions.Panicf("flows.Forward: theta must be [B, S, Dim], got %s", theta.Shape())
	}
	x, ctx, _ := prepare(cfg, context, theta, "theta")
	return forward(scope, cfg, ctx, x)
}

// Inverse maps base-space points z ([B, S, Dim]) to theta and returns
// log|det dtheta/dz| ([B, S]); Sample is Inverse applied to noise.
func Inverse(scope *model.Scope, cfg Config, context, z *graph.Node) (theta, logAbsDet *graph.Node) {
	if z.Rank() != 3 {
		exceptions.Panicf("flows.Inverse: z must be [B, S, Dim], got %s", z.Shape())
	}
	zz, ctx, _ := prepare(cfg, context, z, "z")
	return inverse(scope, cfg, ctx, zz)
}

// prepare checks cfg and shapes and returns x as [B, S, Dim], the context in
// x's dtype, and whether x was given as [B, Dim].
func prepare(cfg Config, context, x *graph.Node, name string) (*graph.Node, *graph.Node, bool) {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if !x.DType().IsFloat() {
		exceptions.Panicf("flows: %s must be float32 or float64, got %s", name, x.Shape())
	}
	squeeze := false
	switch x.Rank() {
	case 2:
		x = graph.InsertAxes(x, 1)
		squeeze = true
	case 3:
	default:
		exceptions.Panicf("flows: %s must be [B, Dim] or [B, S, Dim], got %s", name, x.Shape())
	}
	if x.Shape().Dim(-1) != cfg.Dim {
		exceptions.Panicf("flows: %s has last axis %d, the flow has Dim = %d (%s)", name, x.Shape().Dim(-1), cfg.Dim, x.Shape())
	}
	if context != nil {
		if context.Rank() != 2 || context.Shape().Dim(0) != x.Shape().Dim(0) {
			exceptions.Panicf("flows: context must be [B, E] with B = %d (from %s), got %s", x.Shape().Dim(0), name, context.Shape())
		}
		if context.DType() != x.DType() {
			context = graph.ConvertDType(context, x.DType())
		}
	}
	return x, context, squeeze
}

// logNormal is the standard-normal log density summed over the last axis.
func logNormal(z *graph.Node) *graph.Node {
	d := z.Shape().Dim(-1)
	return graph.AddScalar(graph.MulScalar(graph.ReduceSum(graph.Mul(z, z), -1), -0.5), -halfLog2Pi*float64(d))
}

// forward runs the transforms in order, x -> z ([B, S, D]), summing the log
// determinants ([B, S]).
func forward(scope *model.Scope, cfg Config, ctx, x *graph.Node) (z, lad *graph.Node) {
	lad = graph.ZerosLike(graph.SliceAxis(x, -1, graph.AxisElem(0)))
	lad = graph.Reshape(lad, x.Shape().Dim(0), x.Shape().Dim(1))
	for t := range cfg.Transforms {
		var l *graph.Node
		x, l = transform(scope.At("transform_%d", t), cfg, t, ctx, x, false)
		lad = graph.Add(lad, l)
	}
	return x, lad
}

// inverse runs the transforms backwards, z -> x, summing log|dx/dz|.
func inverse(scope *model.Scope, cfg Config, ctx, z *graph.Node) (x, lad *graph.Node) {
	lad = graph.Reshape(graph.ZerosLike(graph.SliceAxis(z, -1, graph.AxisElem(0))), z.Shape().Dim(0), z.Shape().Dim(1))
	for t := cfg.Transforms - 1; t >= 0; t-- {
		var l *graph.Node
		z, l = transform(scope.At("transform_%d", t), cfg, t, ctx, z, true)
		lad = graph.Add(lad, l)
	}
	return z, lad
}

// transform applies transform t (or its inverse) to x [B, S, D], returning the
// result and its log det summed over D ([B, S]).
func transform(scope *model.Scope, cfg Config, t int, ctx, x *graph.Node, inv bool) (*graph.Node, *graph.Node) {
	switch {
	case cfg.Dim == 1:
		return contextSpline(scope, cfg, ctx, x, inv)
	case cfg.Kind == KindCoupling:
		return coupling(scope, cfg, t, ctx, x, inv)
	default:
		return autoregressive(scope, cfg, t, ctx, x, inv)
	}
}

// splineOf applies the spline with raw parameters widths, heights
// [..., n, K] and derivatives [..., n, K-1] to x [..., n] and sums the log
// det over the last axis.
func splineOf(cfg Config, x, w, h, d *graph.Node, inv bool) (*graph.Node, *graph.Node) {
	y, lad := RQSpline(x, w, h, d, cfg.Bound, inv)
	if lad.Shape().Dim(-1) == 1 {
		return y, graph.Squeeze(lad, -1)
	}
	return y, graph.ReduceSum(lad, -1)
}

// contextSpline is a 1-D transform: the spline parameters are an MLP of the
// context alone, computed once per row and shared by the S samples.
func contextSpline(scope *model.Scope, cfg Config, ctx, x *graph.Node, inv bool) (*graph.Node, *graph.Node) {
	k := cfg.Bins
	var w, h, d *graph.Node
	if ctx == nil {
		g := x.Graph()
		w = graph.Reshape(variable(g, scope, "widths", x.DType(), []int{k}, cfg.Seed, 0), 1, 1, 1, k)
		h = graph.Reshape(variable(g, scope, "heights", x.DType(), []int{k}, cfg.Seed, 0), 1, 1, 1, k)
		d = graph.Reshape(variable(g, scope, "derivatives", x.DType(), []int{k - 1}, cfg.Seed, 0), 1, 1, 1, k-1)
	} else {
		m := &mlp{cfg: cfg, dtype: x.DType(), n: 1}
		w, h, d = m.apply(scope, nil, ctx) // [B, 1, K], ...
		w, h, d = graph.InsertAxes(w, 1), graph.InsertAxes(h, 1), graph.InsertAxes(d, 1)
	}
	return splineOf(cfg, x, w, h, d, inv)
}

// couplingMask returns, for transform t of a dim-D flow, which coordinates
// are transformed. The masks follow the binary digits of the coordinate
// index: transforms 2j and 2j+1 split on bit j mod ceil(log2 D), one
// transforming the coordinates whose bit is 1, the next those whose bit is 0.
// Any two coordinates differ in some bit, so within every 2 ceil(log2 D)
// transforms each coordinate is transformed conditioned on each other one.
func couplingMask(d, t int) []bool {
	nbits := 0
	for 1<<nbits < d {
		nbits++
	}
	bit := (t / 2) % nbits
	parity := t % 2
	m := make([]bool, d)
	for i := range m {
		m[i] = ((i>>bit)&1)^parity == 1
	}
	return m
}

// columns returns x[..., idx] (a copy of the chosen last-axis entries).
func columns(x *graph.Node, idx []int) *graph.Node {
	parts := make([]*graph.Node, 0, len(idx))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && idx[j] == idx[j-1]+1 {
			j++
		}
		parts = append(parts, graph.SliceAxis(x, -1, graph.AxisRange(idx[i], idx[j-1]+1)))
		i = j
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return graph.Concatenate(parts, -1)
}

// coupling is a rational-quadratic coupling transform: the coordinates
// outside couplingMask(D, t) pass unchanged and, with the context,
// parameterise the splines of those inside.
func coupling(scope *model.Scope, cfg Config, t int, ctx, x *graph.Node, inv bool) (*graph.Node, *graph.Node) {
	mask := couplingMask(cfg.Dim, t)
	var idID, idTr []int
	for i, m := range mask {
		if m {
			idTr = append(idTr, i)
		} else {
			idID = append(idID, i)
		}
	}
	xID, xTr := columns(x, idID), columns(x, idTr)
	m := &mlp{cfg: cfg, dtype: x.DType(), n: len(idTr)}
	w, h, d := m.apply(scope, xID, ctx) // [B, S, nTr, K], ...
	yTr, lad := splineOf(cfg, xTr, w, h, d, inv)
	// Reassemble in the original coordinate order.
	parts := make([]*graph.Node, cfg.Dim)
	for k, i := range idID {
		parts[i] = graph.SliceAxis(xID, -1, graph.AxisRange(k, k+1))
	}
	for k, i := range idTr {
		parts[i] = graph.SliceAxis(yTr, -1, graph.AxisRange(k, k+1))
	}
	return graph.Concatenate(parts, -1), lad
}

// arDegrees returns the autoregressive degree (1..D) of each coordinate in
// transform t: natural order for even t, reversed for odd t, so consecutive
// transforms condition in opposite directions.
func arDegrees(d, t int) []int {
	deg := make([]int, d)
	for i := range deg {
		if t%2 == 0 {
			deg[i] = i + 1
		} else {
			deg[i] = d - i
		}
	}
	return deg
}

// autoregressive is a masked autoregressive spline transform: the spline
// parameters of the coordinate of degree k depend on the context and on the
// coordinates of degree < k only (MADE masks), so the Jacobian is triangular.
// The inverse solves the coordinates in degree order: D passes, each exact
// for one more coordinate.
func autoregressive(scope *model.Scope, cfg Config, t int, ctx, x *graph.Node, inv bool) (*graph.Node, *graph.Node) {
	d := cfg.Dim
	m := &mlp{cfg: cfg, dtype: x.DType(), n: d, degrees: arDegrees(d, t)}
	if !inv {
		w, h, dv := m.apply(scope, x, ctx)
		return splineOf(cfg, x, w, h, dv, false)
	}
	// x is z here. Fixed-point iteration: after pass k the coordinates of
	// degree <= k are exact, as their parameters only read lower degrees.
	cur := graph.ZerosLike(x)
	var lad *graph.Node
	for range d {
		w, h, dv := m.apply(scope, cur, ctx)
		cur, lad = splineOf(cfg, x, w, h, dv, true)
	}
	return cur, lad
}
