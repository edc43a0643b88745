// Package fisher computes Cramér-Rao bounds for simulated lenses: how
// precisely the pixels of one cutout, with its noise, determine the Einstein
// radius and every other parameter of the simulator's image model when all of
// them are free.
//
// For pixel values d_k with independent Gaussian noise of variance v_k about a
// model mu_k(p), the Fisher information is
//
//	F_ij = sum_k (d mu_k / d p_i)(d mu_k / d p_j) / v_k
//
// and no unbiased estimator of p_i has a standard deviation below
// sqrt((F^-1)_ii) (the Cramér-Rao bound). The bound uses the model's mean
// only: the variance's own dependence on the parameters (the source's photon
// noise) adds a little information that it leaves out, so it is slightly
// loose. It is a local statement about the image alone; a posterior that also
// knows the population's correlations (between the deflector's light and its
// mass, say) can be narrower, and degeneracies that the local expansion does
// not see can make real estimators wider.
//
// Matrix is the generic part (any model, central differences); Model renders
// the simulator's lenses (SIE + external shear, de Vaucouleurs deflector light
// sharing the mass's centre and ellipticity, exponential source, Gaussian PSF
// per band, the preset's noise) and gives the bounds of one lens (Model.Bound)
// or of a whole simulated dataset (Dataset).
package fisher

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Matrix returns the Fisher matrix of a model with independent Gaussian pixel
// noise: f(p, out) writes the model's pixel values for parameters p into out
// (length len(invVar)), invVar holds each pixel's inverse variance, and
// steps the central-difference step of each parameter. p is not modified.
func Matrix(f func(p, out []float64), p, steps, invVar []float64) *mat.SymDense {
	np := len(p)
	jac := make([][]float64, np)
	q := append([]float64(nil), p...)
	plus := make([]float64, len(invVar))
	minus := make([]float64, len(invVar))
	for i := range p {
		h := steps[i]
		q[i] = p[i] + h
		f(q, plus)
		q[i] = p[i] - h
		f(q, minus)
		q[i] = p[i]
		d := make([]float64, len(invVar))
		for k := range d {
			d[k] = (plus[k] - minus[k]) / (2 * h)
		}
		jac[i] = d
	}
	return FromJacobian(jac, invVar)
}

// FromJacobian returns F_ij = sum_k jac[i][k] jac[j][k] invVar[k].
func FromJacobian(jac [][]float64, invVar []float64) *mat.SymDense {
	np := len(jac)
	F := mat.NewSymDense(np, nil)
	w := make([]float64, len(invVar))
	for i := 0; i < np; i++ {
		for k, v := range jac[i] {
			w[k] = v * invVar[k]
		}
		for j := i; j < np; j++ {
			var s float64
			for k, v := range jac[j] {
				s += w[k] * v
			}
			F.SetSym(i, j, s)
		}
	}
	return F
}

// ErrSingular is returned (wrapped) when a Fisher matrix is not positive
// definite: some combination of parameters leaves the pixels unchanged.
var ErrSingular = errors.New("Fisher matrix is not positive definite")

// Bounds returns sqrt((F^-1)_ii), the Cramér-Rao bound of every parameter
// with all the others free, and 1/sqrt(F_ii), the bound of each parameter
// when all the others are known. The matrix is scaled to unit diagonal
// before its Cholesky factorisation, so parameters of very different units
// do not spoil the inversion.
func Bounds(F *mat.SymDense) (marginal, conditional []float64, err error) {
	n := F.SymmetricDim()
	d := make([]float64, n)
	for i := range d {
		v := F.At(i, i)
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("%w: parameter %d carries no information (F_ii = %g)", ErrSingular, i, v)
		}
		d[i] = 1 / math.Sqrt(v)
	}
	S := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			S.SetSym(i, j, F.At(i, j)*d[i]*d[j])
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(S) {
		return nil, nil, ErrSingular
	}
	var inv mat.SymDense
	if err := ch.InverseTo(&inv); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrSingular, err)
	}
	marginal = make([]float64, n)
	conditional = make([]float64, n)
	for i := range marginal {
		v := inv.At(i, i)
		if !(v > 0) {
			return nil, nil, fmt.Errorf("%w: variance %g for parameter %d", ErrSingular, v, i)
		}
		marginal[i] = math.Sqrt(v) * d[i]
		conditional[i] = d[i]
	}
	return marginal, conditional, nil
}
