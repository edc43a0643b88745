package flows

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/support/exceptions"
)

// outputInitScale scales the initial weights of each conditioner's output
// layer (relative to a LeCun-normal draw): the spline parameters start
// within ~1e-2 of zero, so every transform starts within ~1e-2 of the
// identity (all-zero parameters are the identity exactly) while gradients
// still reach every layer from the first step.
const outputInitScale = 1e-2

// variable returns the node of the variable name under scope, creating it
// on first use with dimensions dims, in dtype, drawn from N(0, std^2) with a
// generator seeded by (seed, the variable's full path): initial values do not
// depend on creation order, the backend or the store's random state. A
// variable that exists with another float dtype is converted.
func variable(g *graph.Graph, scope *model.Scope, name string, dtype dtypes.DType, dims []int, seed uint64, std float64) *graph.Node {
	v := scope.GetVariable(name)
	if v == nil {
		size := 1
		for _, d := range dims {
			size *= d
		}
		vals := make([]float64, size)
		if std > 0 {
			h := fnv.New64a()
			h.Write([]byte(scope.Scope() + "/" + name))
			rng := rand.New(rand.NewPCG(seed, h.Sum64()))
			for i := range vals {
				vals[i] = std * rng.NormFloat64()
			}
		}
		var t *tensors.Tensor
		switch dtype {
		case dtypes.Float64:
			t = tensors.FromFlatDataAndDimensions(vals, dims...)
		case dtypes.Float32:
			f := make([]float32, size)
			for i, x := range vals {
				f[i] = float32(x)
			}
			t = tensors.FromFlatDataAndDimensions(f, dims...)
		default:
			exceptions.Panicf("flows: variables must be float32 or float64, got %s", dtype)
		}
		v = scope.VariableWithValue(name, t)
	}
	if !slices.Equal(v.Shape().Dimensions, dims) {
		exceptions.Panicf("flows: variable %s has shape %s, this flow needs %v (a different Config under the same scope?)", v.Path(), v.Shape(), dims)
	}
	return graph.ConvertDType(v.NodeValue(g), dtype)
}

// mlp is a conditioner network: inputs [B, S, din] (or none) and a context
// [B, E] (or none) -> HiddenLayers ReLU layers of Hidden units -> the spline
// parameters of n coordinates, as three outputs: widths [.., n, K], heights
// [.., n, K] and derivatives [.., n, K-1]. The context enters the first
// layer through its own weights, computed once per row and shared by the S
// inputs of the row. With degrees set, the weights carry MADE masks: the
// outputs of coordinate i see the inputs of degree < degrees[i] only.
type mlp struct {
	cfg     Config
	dtype   dtypes.DType
	n       int   // Number of coordinates whose spline parameters are produced.
	degrees []int // Autoregressive degree of each input (= output) coordinate; nil for none.
}

// hiddenDegrees assigns degrees 0..D-1 cyclically to the hidden units; a
// degree-0 unit sees the context only, so the first coordinate's parameters
// still depend on the context.
func (m *mlp) hiddenDegrees() []int {
	deg := make([]int, m.cfg.Hidden)
	for j := range deg {
		deg[j] = j % len(m.degrees)
	}
	return deg
}

// mask returns the constant [nIn, nOut] 0/1 matrix with entry 1 where
// allow(i, j).
func mask(g *graph.Graph, dtype dtypes.DType, nIn, nOut int, allow func(i, j int) bool) *graph.Node {
	m := make([]float64, nIn*nOut)
	for i := range nIn {
		for j := range nOut {
			if allow(i, j) {
				m[i*nOut+j] = 1
			}
		}
	}
	return graph.ConvertDType(graph.Const(g, tensors.FromFlatDataAndDimensions(m, nIn, nOut)), dtype)
}

// dense is act(x @ w + b) over the last axis of x, through the backend's
// fused dense operation where it has one (bias and activation in one pass:
// the pure-Go backend broadcasts a bias slowly otherwise). b may be nil.
func dense(x, w, b *graph.Node, relu bool) *graph.Node {
	act := activation.TypeNone
	if relu {
		act = activation.TypeRelu
	}
	return nn.Dense(x, w, b, compute.DenseLayoutInputOutputs, act)
}

// apply evaluates the network. With inputs [B, S, din] the outputs are
// [B, S, n, K], [B, S, n, K], [B, S, n, K-1]; without, [B, n, K], ...
func (m *mlp) apply(scope *model.Scope, in, ctx *graph.Node) (widths, heights, derivs *graph.Node) {
	var g *graph.Graph
	if in != nil {
		g = in.Graph()
	} else {
		g = ctx.Graph()
	}
	cfg := m.cfg
	hid := cfg.Hidden
	var hDeg []int
	if m.degrees != nil {
		hDeg = m.hiddenDegrees()
	}
	fanIn := 0
	if in != nil {
		fanIn += in.Shape().Dim(-1)
	}
	if ctx != nil {
		fanIn += ctx.Shape().Dim(-1)
	}
	he := math.Sqrt(2 / float64(fanIn))

	// First layer: relu(in @ Wx + ctx @ Wc + b).
	s0 := scope.At("layer_0")
	b0 := variable(g, s0, "b", m.dtype, []int{hid}, cfg.Seed, 0)
	var h *graph.Node
	var c *graph.Node // [B, H]: the context's share, bias included.
	if ctx != nil {
		e := ctx.Shape().Dim(-1)
		wc := variable(g, s0, "w_context", m.dtype, []int{e, hid}, cfg.Seed, he)
		c = dense(ctx, wc, b0, in == nil)
		if in == nil {
			h = c
		}
	}
	if in != nil {
		bb, ss, din := in.Shape().Dim(0), in.Shape().Dim(1), in.Shape().Dim(2)
		wx := variable(g, s0, "w_x", m.dtype, []int{din, hid}, cfg.Seed, he)
		if m.degrees != nil {
			wx = graph.Mul(wx, mask(g, m.dtype, din, hid, func(i, j int) bool { return m.degrees[i] <= hDeg[j] }))
		}
		switch {
		case c == nil:
			h = dense(in, wx, b0, true)
		case ss == 1:
			h = graph.Reshape(graph.Add(dense(graph.Reshape(in, bb, din), wx, nil, false), c), bb, 1, hid)
			h = graph.MaxScalar(h, 0)
		default:
			// Per-row weights [B, din+1, H] (the context share as the weight
			// of a constant input 1) and one batched product: avoids adding
			// a [B, 1, H] term to [B, S, H], a slow broadcast on the Go backend.
			ones := graph.OnesLike(graph.SliceAxis(in, -1, graph.AxisRange(0, 1)))
			inOne := graph.Concatenate([]*graph.Node{in, ones}, -1)
			wRow := graph.Concatenate([]*graph.Node{graph.BroadcastToDims(graph.InsertAxes(wx, 0), bb, din, hid), graph.InsertAxes(c, 1)}, 1)
			h = graph.MaxScalar(graph.DotGeneral(inOne, []int{2}, []int{0}, wRow, []int{1}, []int{0}), 0)
		}
	}
	he = math.Sqrt(2 / float64(hid))
	for l := 1; l < cfg.HiddenLayers; l++ {
		sl := scope.At("layer_%d", l)
		w := variable(g, sl, "w", m.dtype, []int{hid, hid}, cfg.Seed, he)
		if m.degrees != nil {
			w = graph.Mul(w, mask(g, m.dtype, hid, hid, func(i, j int) bool { return hDeg[i] <= hDeg[j] }))
		}
		h = dense(h, w, variable(g, sl, "b", m.dtype, []int{hid}, cfg.Seed, 0), true)
	}
	so := scope.At("output")
	k := cfg.Bins
	outDims := h.Shape().Clone().Dimensions[:h.Rank()-1]
	out := func(name string, size int) *graph.Node {
		n := m.n * size
		w := variable(g, so, "w_"+name, m.dtype, []int{hid, n}, cfg.Seed, outputInitScale/math.Sqrt(float64(hid)))
		if m.degrees != nil {
			w = graph.Mul(w, mask(g, m.dtype, hid, n, func(j, o int) bool { return hDeg[j] < m.degrees[o/size] }))
		}
		y := dense(h, w, variable(g, so, "b_"+name, m.dtype, []int{n}, cfg.Seed, 0), false)
		return graph.Reshape(y, append(slices.Clone(outDims), m.n, size)...)
	}
	return out("widths", k), out("heights", k), out("derivatives", k-1)
}
