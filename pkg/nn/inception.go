package nn

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// InceptionConfig sizes one Inception block (Szegedy et al. 2015, "Going
// deeper with convolutions", with the 5 x 5 branch factorised into two 3 x 3
// convolutions as in Szegedy et al. 2016, "Rethinking the Inception
// architecture"). All channel counts must be positive.
type InceptionConfig struct {
	// C1 is the output width of the 1 x 1 branch.
	C1 int
	// C3Reduce and C3: 1 x 1 to C3Reduce channels, then 3 x 3 to C3.
	C3Reduce, C3 int
	// C5Reduce and C5: 1 x 1 to C5Reduce channels, then two 3 x 3 to C5
	// (the receptive field of a 5 x 5).
	C5Reduce, C5 int
	// CPool: 3 x 3 stride-1 mean pool, then 1 x 1 to CPool channels.
	CPool int
	// Activation after every convolution: "relu" (or "") or "silu".
	Activation string
	// Norm after every convolution, before the activation: "none" (or "") or
	// "layer"; see Normalize.
	Norm string
}

// OutChannels is the channel count of the block's output,
// C1 + C3 + C5 + CPool.
func (c InceptionConfig) OutChannels() int { return c.C1 + c.C3 + c.C5 + c.CPool }

// Validate reports the first invalid field of c.
func (c InceptionConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"C1", c.C1}, {"C3Reduce", c.C3Reduce}, {"C3", c.C3}, {"C5Reduce", c.C5Reduce}, {"C5", c.C5}, {"CPool", c.CPool}} {
		if f.v <= 0 {
			return fmt.Errorf("inception config: %s = %d, must be positive", f.name, f.v)
		}
	}
	if !validActivation(c.Activation) {
		return fmt.Errorf("inception config: unknown activation %q (want %q or %q)", c.Activation, ActReLU, ActSiLU)
	}
	if !validNorm(c.Norm) {
		return fmt.Errorf("inception config: unknown normalisation %q (want %q or %q)", c.Norm, NormNone, NormLayer)
	}
	return nil
}

// Inception applies one Inception block to x, NHWC [B, H, W, Cin], and
// returns [B, H, W, cfg.OutChannels()]: the concatenation, on the channel
// axis and in this order, of
//
//	1x1 (C1) | 1x1 (C3Reduce) -> 3x3 (C3) | 1x1 (C5Reduce) -> 3x3 (C5) -> 3x3 (C5) | 3x3 mean pool -> 1x1 (CPool)
//
// with Norm and Activation after every convolution.
//
// Variables, each a Conv2D-style "weights"/"biases" pair in a sub-scope of
// scope: "1x1", "3x3_reduce", "3x3", "5x5_reduce", "5x5a", "5x5b",
// "pool_proj", and, when Norm is set, "norm_<same name>".
//
// The pool branch applies its 1 x 1 projection before the 3 x 3 mean pool
// instead of after it: both are linear and act on different axes, and
// MeanPool3x3 keeps constants, so the two orders give the same result (bias
// included), and pooling CPool channels is cheaper than pooling Cin. On the
// im2col path the four 1 x 1 convolutions that read x are one operation
// with a hand-written gradient, and the four branches stay separate channel
// groups until a consumer needs them joined.
func Inception(scope *model.Scope, x *graph.Node, cfg InceptionConfig) *graph.Node {
	checkRank4("Inception", x)
	n := newNet(scope, x.Graph())
	return n.toNHWC(n.concat(n.inception(scope, []*graph.Node{n.fromNHWC(x)}, cfg)))
}

// inception is Inception on the channel groups xs in n's layout; it returns
// the four branches as channel groups.
func (n net) inception(scope *model.Scope, xs []*graph.Node, cfg InceptionConfig) []*graph.Node {
	if err := cfg.Validate(); err != nil {
		panicf("Inception: %v", err)
	}
	act := func(name string, y *graph.Node) *graph.Node {
		return n.activate(cfg.Activation, n.normalize(scope.In("norm_%s", name), cfg.Norm, y))
	}
	conv3 := func(name string, x *graph.Node, cout int) *graph.Node {
		return act(name, n.conv(scope.In("%s", name), x, cout, 3))
	}
	red := n.pointwise([]*model.Scope{scope.In("1x1"), scope.In("3x3_reduce"), scope.In("5x5_reduce"), scope.In("pool_proj")},
		xs, []int{cfg.C1, cfg.C3Reduce, cfg.C5Reduce, cfg.CPool})
	b1 := act("1x1", red[0])
	b3 := conv3("3x3", act("3x3_reduce", red[1]), cfg.C3)
	b5 := conv3("5x5a", act("5x5_reduce", red[2]), cfg.C5)
	b5 = conv3("5x5b", b5, cfg.C5)
	pool := act("pool_proj", meanPool3x3(red[3], n.hAxis(), n.cm))
	return []*graph.Node{b1, b3, b5, pool}
}
