package flows

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// refKnots is a plain-Go reference of the spline parameterisation: knot x
// and y positions and knot slopes for one scalar.
func refKnots(w, h, d []float64, bound float64) (cw, ch, dv []float64) {
	norm := func(u []float64, minSize float64) []float64 {
		m := slices.Max(u)
		s := 0.0
		p := make([]float64, len(u))
		for i, v := range u {
			p[i] = math.Exp(v - m)
			s += p[i]
		}
		cum := make([]float64, len(u)+1)
		cum[0] = -bound
		acc := 0.0
		for i := range p {
			acc += minSize + (1-minSize*float64(len(u)))*p[i]/s
			cum[i+1] = 2*bound*acc - bound
		}
		cum[len(u)] = bound
		return cum
	}
	cw, ch = norm(w, MinBinWidth), norm(h, MinBinHeight)
	dv = make([]float64, len(w)+1)
	dv[0], dv[len(w)] = 1, 1
	for i, v := range d {
		dv[i+1] = MinDerivative + math.Log1p(math.Exp(v+derivativeShift))
	}
	return
}

// refSpline evaluates the forward spline and its log-derivative on the host.
func refSpline(x float64, cw, ch, dv []float64) (y, lad float64) {
	k := len(cw) - 1
	if x < cw[0] || x > cw[k] {
		return x, 0
	}
	i := 0
	for i < k-1 && x >= cw[i+1] {
		i++
	}
	w, h := cw[i+1]-cw[i], ch[i+1]-ch[i]
	s := h / w
	t := (x - cw[i]) / w
	den := s + (dv[i]+dv[i+1]-2*s)*t*(1-t)
	y = ch[i] + h*(s*t*t+dv[i]*t*(1-t))/den
	lad = math.Log(s*s*(dv[i+1]*t*t+2*s*t*(1-t)+dv[i]*(1-t)*(1-t))) - 2*math.Log(den)
	return
}

type splineCase struct {
	n, k    int
	bound   float64
	x       []float64
	w, h, d []float64 // [n*k], [n*k], [n*(k-1)]
}

// newSplineCase draws random spline parameters (normal, times scale: 1.5 is
// strongly non-identity, with slopes from ~1e-4 to ~1e3) for n points: a third uniform over [-1.3B, 1.3B] (tails
// included), a third exactly at knots (including the ends) and a third just
// inside the ends.
func newSplineCase(rng *rand.Rand, n, k int, bound, scale float64) *splineCase {
	c := &splineCase{n: n, k: k, bound: bound}
	c.w = scaled(normals(rng, n*k), scale)
	c.h = scaled(normals(rng, n*k), scale)
	c.d = scaled(normals(rng, n*(k-1)), scale)
	c.x = make([]float64, n)
	for i := range n {
		cw, _, _ := refKnots(c.w[i*k:(i+1)*k], c.h[i*k:(i+1)*k], c.d[i*(k-1):(i+1)*(k-1)], bound)
		switch i % 3 {
		case 0:
			c.x[i] = (2*rng.Float64() - 1) * 1.3 * bound
		case 1:
			c.x[i] = cw[rng.IntN(k+1)]
		default:
			c.x[i] = bound * (1 - 1e-7) * float64(2*rng.IntN(2)-1)
		}
	}
	return c
}

func scaled(x []float64, s float64) []float64 {
	for i := range x {
		x[i] *= s
	}
	return x
}

// runSpline evaluates RQSpline on the Go backend in float64 (f32 false) or
// float32.
func runSpline(t *testing.T, c *splineCase, x []float64, inverse, f32 bool) (y, lad []float64) {
	t.Helper()
	fn := func(x, w, h, d *graph.Node) (*graph.Node, *graph.Node) {
		return RQSpline(x, w, h, d, c.bound, inverse)
	}
	e, err := graph.NewExec(backend(t), fn)
	if err != nil {
		t.Fatal(err)
	}
	var args []any
	if f32 {
		args = []any{
			tensors.FromFlatDataAndDimensions(toF32(x), c.n),
			tensors.FromFlatDataAndDimensions(toF32(c.w), c.n, c.k),
			tensors.FromFlatDataAndDimensions(toF32(c.h), c.n, c.k),
			tensors.FromFlatDataAndDimensions(toF32(c.d), c.n, c.k-1),
		}
	} else {
		args = []any{
			tensors.FromFlatDataAndDimensions(x, c.n),
			tensors.FromFlatDataAndDimensions(c.w, c.n, c.k),
			tensors.FromFlatDataAndDimensions(c.h, c.n, c.k),
			tensors.FromFlatDataAndDimensions(c.d, c.n, c.k-1),
		}
	}
	out, err := e.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	if f32 {
		return toF64(tensors.MustCopyFlatData[float32](out[0])), toF64(tensors.MustCopyFlatData[float32](out[1]))
	}
	return tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
}

// TestRQSplineMatchesReference compares the graph with the plain-Go
// reference of the forward map and its log-derivative.
func TestRQSplineMatchesReference(t *testing.T) {
	c := newSplineCase(rand.New(rand.NewPCG(1, 2)), 600, 8, 3, 1.5)
	withTimeout(t, graphTimeout, func() {
		y, lad := runSpline(t, c, c.x, false, false)
		k := c.k
		worst, worstL := 0.0, 0.0
		for i := range c.n {
			cw, ch, dv := refKnots(c.w[i*k:(i+1)*k], c.h[i*k:(i+1)*k], c.d[i*(k-1):(i+1)*(k-1)], c.bound)
			ry, rl := refSpline(c.x[i], cw, ch, dv)
			worst = math.Max(worst, math.Abs(ry-y[i]))
			worstL = math.Max(worstL, math.Abs(rl-lad[i]))
		}
		t.Logf("max |y - ref| = %.2e, max |logdet - ref| = %.2e", worst, worstL)
		if worst > 1e-12 || worstL > 1e-10 {
			t.Errorf("graph spline differs from reference: %.2e in y, %.2e in log det", worst, worstL)
		}
	})
}

// TestRQSplineRoundTrip: inverse(forward(x)) = x, forward log det = -inverse
// log det, including tails, knots and the ends. In float64 with strongly
// non-identity parameters; in float32 with moderate ones (scale 0.5, slopes
// ~0.1-10, as in a trained flow), since a round trip through a bin of slope s
// loses ~eps/s in x whatever the algorithm -- the float32 case with strong
// parameters is checked in y-space, |x' - x| min(1, s) <= 1e-4.
func TestRQSplineRoundTrip(t *testing.T) {
	strong := newSplineCase(rand.New(rand.NewPCG(3, 4)), 900, 8, 3, 1.5)
	moderate := newSplineCase(rand.New(rand.NewPCG(3, 4)), 900, 8, 3, 0.5)
	withTimeout(t, graphTimeout, func() {
		for _, tc := range []struct {
			name       string
			c          *splineCase
			f32        bool
			tolX, tolL float64
		}{
			{"float64 strong", strong, false, 1e-10, 1e-8},
			{"float64 moderate", moderate, false, 1e-10, 1e-8},
			{"float32 moderate", moderate, true, 1e-4, 1e-4},
			{"float32 strong (y-space)", strong, true, 1e-4, math.Inf(1)},
		} {
			c := tc.c
			y, ladF := runSpline(t, c, c.x, false, tc.f32)
			x2, ladI := runSpline(t, c, y, true, tc.f32)
			errX, errL := 0.0, 0.0
			for i := range c.x {
				e := math.Abs(x2[i] - c.x[i])
				if math.IsInf(tc.tolL, 1) {
					e *= math.Min(1, math.Exp(ladF[i]))
				}
				errX = math.Max(errX, e)
				errL = math.Max(errL, math.Abs(ladF[i]+ladI[i]))
			}
			t.Logf("%s: max |inverse(forward(x)) - x| = %.2e, max |logdet_f + logdet_i| = %.2e", tc.name, errX, errL)
			if errX > tc.tolX || errL > tc.tolL {
				t.Errorf("%s: round trip error %.2e (tol %.0e), log det mismatch %.2e (tol %.0e)", tc.name, errX, tc.tolX, errL, tc.tolL)
			}
			if math.IsInf(tc.tolL, 1) {
				continue
			}
			// And the other way round: forward(inverse(y)) = y.
			xi, _ := runSpline(t, c, c.x, true, tc.f32)
			y2, _ := runSpline(t, c, xi, false, tc.f32)
			if e := maxAbsDiff(c.x, y2); e > tc.tolX {
				t.Errorf("%s: forward(inverse(y)) error %.2e", tc.name, e)
			}
		}
	})
}

// TestRQSplineLogDetFiniteDifference: log|dy/dx| against a central
// difference of the forward map, and against the inverse map's difference.
func TestRQSplineLogDetFiniteDifference(t *testing.T) {
	c := newSplineCase(rand.New(rand.NewPCG(5, 6)), 600, 8, 3, 1.5)
	// Keep away from knots and the ends, where the second derivative jumps.
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range c.x {
		c.x[i] = (2*rng.Float64() - 1) * 1.3 * c.bound
	}
	const h = 1e-6
	plus, minus := make([]float64, c.n), make([]float64, c.n)
	for i, v := range c.x {
		plus[i], minus[i] = v+h, v-h
	}
	withTimeout(t, graphTimeout, func() {
		for _, inverse := range []bool{false, true} {
			_, lad := runSpline(t, c, c.x, inverse, false)
			yp, _ := runSpline(t, c, plus, inverse, false)
			ym, _ := runSpline(t, c, minus, inverse, false)
			worst := 0.0
			for i := range c.x {
				fd := math.Log((yp[i] - ym[i]) / (2 * h))
				worst = math.Max(worst, math.Abs(fd-lad[i]))
			}
			t.Logf("inverse=%v: max |logdet - log(finite difference)| = %.2e", inverse, worst)
			if worst > 1e-5 {
				t.Errorf("inverse=%v: log det differs from finite difference by %.2e", inverse, worst)
			}
		}
	})
}

// TestRQSplineMonotoneAndIdentity: the map is strictly increasing on a fine
// grid, continuous at the ends, the identity in the tails, and the identity
// everywhere when all parameters are zero.
func TestRQSplineMonotoneAndIdentity(t *testing.T) {
	const n, k, bound = 4001, 6, 2.0
	rng := rand.New(rand.NewPCG(9, 10))
	w, h, d := normals(rng, k), normals(rng, k), normals(rng, k-1)
	c := &splineCase{n: n, k: k, bound: bound, x: make([]float64, n)}
	for i := range n {
		c.x[i] = -1.5*bound + 3*bound*float64(i)/float64(n-1)
		c.w = append(c.w, w...)
		c.h = append(c.h, h...)
		c.d = append(c.d, d...)
	}
	withTimeout(t, graphTimeout, func() {
		y, _ := runSpline(t, c, c.x, false, false)
		for i := 1; i < n; i++ {
			if !(y[i] > y[i-1]) {
				t.Fatalf("not increasing at x=%g: y=%g after %g", c.x[i], y[i], y[i-1])
			}
		}
		for i, x := range c.x {
			if math.Abs(x) > bound && y[i] != x {
				t.Fatalf("tail not identity: s(%g) = %g", x, y[i])
			}
		}
		// Continuity at the ends: s(+-B) = +-B.
		ends, _ := runSpline(t, &splineCase{n: 2, k: k, bound: bound, w: append(w, w...), h: append(h, h...), d: append(d, d...)},
			[]float64{-bound, bound}, false, false)
		if math.Abs(ends[0]+bound) > 1e-12 || math.Abs(ends[1]-bound) > 1e-12 {
			t.Errorf("s(-B), s(B) = %v, want -+%g", ends, bound)
		}
		zero := &splineCase{n: n, k: k, bound: bound, x: c.x,
			w: make([]float64, n*k), h: make([]float64, n*k), d: make([]float64, n*(k-1))}
		yz, lz := runSpline(t, zero, c.x, false, false)
		if e := maxAbsDiff(yz, c.x); e > 1e-12 {
			t.Errorf("zero parameters: max |s(x) - x| = %.2e", e)
		}
		if e := maxAbsDiff(lz, make([]float64, n)); e > 1e-12 {
			t.Errorf("zero parameters: max |log det| = %.2e", e)
		}
	})
}
