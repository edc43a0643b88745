package diagnostics

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// gaussProblem is the analytic test problem: prior theta ~ N(0, Sigma) with
// Sigma_ij = rho^|i-j|, data x = theta + N(0, sigma^2 I). The exact posterior
// is N(C x / sigma^2, C) with C = (Sigma^-1 + I/sigma^2)^-1.
type gaussProblem struct {
	d         int
	sigma     float64
	prior     *mat.TriDense // Cholesky factor of Sigma
	post      *mat.TriDense // Cholesky factor of C
	postMeanA *mat.Dense    // C / sigma^2
	postSD    []float64     // sqrt(C_pp)
}

func newGaussProblem(d int, rho, sigma float64) *gaussProblem {
	sig := mat.NewSymDense(d, nil)
	for i := range d {
		for j := range d {
			sig.SetSym(i, j, math.Pow(rho, math.Abs(float64(i-j))))
		}
	}
	var cp mat.Cholesky
	if !cp.Factorize(sig) {
		panic("prior covariance not positive definite")
	}
	g := &gaussProblem{d: d, sigma: sigma, prior: mat.NewTriDense(d, mat.Lower, nil)}
	cp.LTo(g.prior)
	var prec mat.SymDense
	if err := cp.InverseTo(&prec); err != nil {
		panic(err)
	}
	for i := range d {
		prec.SetSym(i, i, prec.At(i, i)+1/(sigma*sigma))
	}
	var cprec mat.Cholesky
	if !cprec.Factorize(&prec) {
		panic("posterior precision not positive definite")
	}
	var c mat.SymDense
	if err := cprec.InverseTo(&c); err != nil {
		panic(err)
	}
	var cc mat.Cholesky
	if !cc.Factorize(&c) {
		panic("posterior covariance not positive definite")
	}
	g.post = mat.NewTriDense(d, mat.Lower, nil)
	cc.LTo(g.post)
	g.postMeanA = mat.NewDense(d, d, nil)
	g.postMeanA.Scale(1/(sigma*sigma), &c)
	g.postSD = make([]float64, d)
	for i := range d {
		g.postSD[i] = math.Sqrt(c.At(i, i))
	}
	return g
}

// sampler distorts the exact posterior: its deviations from the mean are
// scaled by width and its mean moved by shift posterior standard deviations
// in every parameter.
type sampler struct {
	name         string
	width, shift float64
}

var (
	exact         = sampler{"exact", 1, 0}
	overconfident = sampler{"over-confident (width x0.5)", 0.5, 0}
	underconfid   = sampler{"under-confident (width x2)", 2, 0}
)

func biased(shift float64) sampler { return sampler{"biased", 1, shift} }

// simulate draws n truths, their data and s posterior samples each from smp,
// in the [n][s][d] layout.
func (g *gaussProblem) simulate(seed uint64, n, s int, smp sampler) ([]float32, []float64) {
	r := rand.New(rand.NewPCG(seed, 99))
	d := g.d
	samples := make([]float32, n*s*d)
	truth := make([]float64, n*d)
	z := make([]float64, d)
	x := make([]float64, d)
	mean := make([]float64, d)
	for i := range n {
		for p := range d {
			z[p] = r.NormFloat64()
		}
		for p := range d {
			var t float64
			for q := 0; q <= p; q++ {
				t += g.prior.At(p, q) * z[q]
			}
			truth[i*d+p] = t
			x[p] = t + g.sigma*r.NormFloat64()
		}
		for p := range d {
			var m float64
			for q := range d {
				m += g.postMeanA.At(p, q) * x[q]
			}
			mean[p] = m + smp.shift*g.postSD[p]
		}
		for j := range s {
			for p := range d {
				z[p] = r.NormFloat64()
			}
			for p := range d {
				var v float64
				for q := 0; q <= p; q++ {
					v += g.post.At(p, q) * z[q]
				}
				samples[(i*s+j)*d+p] = float32(mean[p] + smp.width*v)
			}
		}
	}
	return samples, truth
}
