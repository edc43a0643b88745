package cosmology

import "math"

// glRule holds Gauss-Legendre nodes and weights on [-1, 1].
type glRule struct{ x, w []float64 }

// gl10 is the 10-point Gauss-Legendre rule used by the quadratures.
var gl10 = gaussLegendre(10)

// gaussLegendre computes the n-point Gauss-Legendre rule on [-1, 1] by
// Newton iteration on P_n from Chebyshev-like starting points, evaluating
// P_n and P_n' with the three-term recurrence (Golub & Welsch give the same
// nodes as eigenvalues; Newton converges to machine precision in a few steps).
func gaussLegendre(n int) glRule {
	r := glRule{x: make([]float64, n), w: make([]float64, n)}
	for i := 0; i < (n+1)/2; i++ {
		x := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for iter := 0; iter < 100; iter++ {
			p0, p1 := 1.0, x
			for k := 2; k <= n; k++ {
				p0, p1 = p1, (float64(2*k-1)*x*p1-float64(k-1)*p0)/float64(k)
			}
			// p1 = P_n(x), p0 = P_{n-1}(x).
			dp = float64(n) * (x*p1 - p0) / (x*x - 1)
			dx := p1 / dp
			x -= dx
			if math.Abs(dx) < 1e-16 {
				break
			}
		}
		// Recompute the derivative at the converged node for the weight.
		p0, p1 := 1.0, x
		for k := 2; k <= n; k++ {
			p0, p1 = p1, (float64(2*k-1)*x*p1-float64(k-1)*p0)/float64(k)
		}
		dp = float64(n) * (x*p1 - p0) / (x*x - 1)
		w := 2 / ((1 - x*x) * dp * dp)
		r.x[i], r.w[i] = -x, w
		r.x[n-1-i], r.w[n-1-i] = x, w
	}
	return r
}
