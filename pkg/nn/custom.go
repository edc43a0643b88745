package nn

import (
	"github.com/gomlx/gomlx/core/graph"
)

// customVJP returns ys = forward(ins) whose gradients with respect to the
// inputs are given by backward, in place of what GoMLX's autodiff would
// derive from the operations inside forward.
//
// forward receives the inputs (wrapped, see below) and returns the outputs.
// backward receives the same wrapped inputs, the outputs and their adjoints
// dys (dys[j] is nil when no gradient flows into output j), and returns one
// gradient per input, shaped like it (nil for a zero gradient). Nodes built
// in forward (im2col patches, say) may be captured and reused in backward.
//
// How: GoMLX offers custom gradients only on identity nodes
// (graph.IdentityWithCustomGradient). Every input and every output passes
// through one. Reverse-mode autodiff visits an output's identity before the
// identities of the inputs it depends on: the output identities record their
// adjoints, and each input identity replaces the adjoint that autodiff
// derived through forward's operations by backward's gradient. Those derived
// expressions then feed no output of the graph, and the Go backend's
// dead-code elimination (like XLA's) never runs them. forward must therefore
// use only operations that GoMLX can differentiate (no graph.Pad), even
// though their derivatives are discarded.
//
// Why: on the Go backend the matrix product needs the contracted axis of its
// left operand last. The gradient expressions GoMLX derives for a product
// put large feature maps in the wrong place, which costs two big
// element-by-element transposes per convolution; backward here writes each
// product in a layout the backend takes as is.
func customVJP(inputs []*graph.Node,
	forward func(ins []*graph.Node) []*graph.Node,
	backward func(ins, ys, dys []*graph.Node) []*graph.Node) []*graph.Node {
	var (
		ys, dys []*graph.Node
		grads   []*graph.Node
		done    bool
	)
	ins := make([]*graph.Node, len(inputs))
	for i, in := range inputs {
		ins[i] = graph.IdentityWithCustomGradient(in, func(_, _ *graph.Node) *graph.Node {
			if !done {
				grads = backward(ins, ys, dys)
				if len(grads) != len(inputs) {
					panicf("customVJP: backward returned %d gradients for %d inputs (internal error)", len(grads), len(inputs))
				}
				done = true
			}
			if grads[i] == nil {
				return graph.ZerosLike(ins[i])
			}
			return grads[i]
		})
	}
	raw := forward(ins)
	ys = make([]*graph.Node, len(raw))
	dys = make([]*graph.Node, len(raw))
	for j, y := range raw {
		ys[j] = graph.IdentityWithCustomGradient(y, func(_, v *graph.Node) *graph.Node {
			if done { // a new gradient pass over the same graph
				done, grads = false, nil
				clear(dys)
			}
			dys[j] = v
			return v
		})
	}
	return ys
}
