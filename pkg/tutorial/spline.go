package tutorial

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/lenssbi/lenssbi/pkg/flows"
	"github.com/lenssbi/lenssbi/pkg/mlbackend"
)

// SplineKnots computes on the host the knots of the rational-quadratic spline
// that flows.RQSpline builds from the unconstrained parameters widths and
// heights (K each) and derivatives (K-1) on [-bound, bound]: bin fractions
// f = m + (1 - m K) softmax(u) with m = flows.MinBinWidth (MinBinHeight),
// knot positions their cumulative sums scaled to the interval, interior
// slopes flows.MinDerivative + softplus(u + c) with c chosen so that u = 0
// gives slope 1, and slope 1 at both ends. It returns K+1 knots (xk, yk) and
// their slopes dk.
func SplineKnots(widths, heights, derivatives []float64, bound float64) (xk, yk, dk []float64, err error) {
	k := len(widths)
	if k < 2 || len(heights) != k || len(derivatives) != k-1 || !(bound > 0) {
		return nil, nil, nil, fmt.Errorf("tutorial.SplineKnots: need K >= 2 widths and heights and K-1 derivatives, bound > 0 (got %d, %d, %d, %g)",
			len(widths), len(heights), len(derivatives), bound)
	}
	cum := func(u []float64, minFrac float64) []float64 {
		mx := math.Inf(-1)
		for _, v := range u {
			mx = math.Max(mx, v)
		}
		sum := 0.0
		e := make([]float64, len(u))
		for i, v := range u {
			e[i] = math.Exp(v - mx)
			sum += e[i]
		}
		knots := make([]float64, len(u)+1)
		knots[0] = -bound
		for i := range u {
			f := minFrac + (1-minFrac*float64(len(u)))*e[i]/sum
			knots[i+1] = knots[i] + 2*bound*f
		}
		knots[len(u)] = bound
		return knots
	}
	xk = cum(widths, flows.MinBinWidth)
	yk = cum(heights, flows.MinBinHeight)
	dk = make([]float64, k+1)
	dk[0], dk[k] = 1, 1
	c := math.Log(math.Exp(1-flows.MinDerivative) - 1)
	for i, u := range derivatives {
		z := u + c
		sp := math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) // softplus, stable
		dk[i+1] = flows.MinDerivative + sp
	}
	return xk, yk, dk, nil
}

// EvalSpline runs flows.RQSpline on the default backend for the points x,
// all sharing one spline with the given unconstrained parameters (see
// SplineKnots). It returns y = s(x) and log|ds/dx| (inverse false), or
// y = s^-1(x) and log|ds^-1/dx| (inverse true).
func EvalSpline(x, widths, heights, derivatives []float64, bound float64, inverse bool) (y, logAbsDet []float64, err error) {
	k := len(widths)
	if k < 2 || len(heights) != k || len(derivatives) != k-1 || len(x) == 0 {
		return nil, nil, fmt.Errorf("tutorial.EvalSpline: need points, K >= 2 widths and heights and K-1 derivatives (got %d, %d, %d, %d)",
			len(x), len(widths), len(heights), len(derivatives))
	}
	b, err := mlbackend.Default()
	if err != nil {
		return nil, nil, fmt.Errorf("tutorial.EvalSpline: %w", err)
	}
	exec, err := graph.NewExec(b, func(xs, w, h, d *graph.Node) (*graph.Node, *graph.Node) {
		return flows.RQSpline(xs, w, h, d, bound, inverse)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("tutorial.EvalSpline: %w", err)
	}
	n := len(x)
	out, err := exec.Exec(
		tensors.FromFlatDataAndDimensions(x, n),
		tensors.FromFlatDataAndDimensions(widths, 1, k),
		tensors.FromFlatDataAndDimensions(heights, 1, k),
		tensors.FromFlatDataAndDimensions(derivatives, 1, k-1))
	if err != nil {
		return nil, nil, fmt.Errorf("tutorial.EvalSpline: %w", err)
	}
	return tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1]), nil
}
