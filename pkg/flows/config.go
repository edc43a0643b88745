package flows

import (
	"errors"
	"fmt"
	"math"
)

// Kinds of transform for flows over more than one dimension.
const (
	// KindCoupling: rational-quadratic coupling layers (Durkan et al. 2019,
	// section 3.3): half of the coordinates, with the context, parameterise
	// the splines of the other half. One network pass per transform in both
	// directions, so sampling costs the same as density evaluation.
	KindCoupling = "coupling"
	// KindAutoregressive: masked autoregressive transforms (MADE masks,
	// Germain et al. 2015; Papamakarios et al. 2017): the splines of each
	// coordinate are parameterised by the preceding ones and the context.
	// One pass to evaluate the density, Dim passes per transform to sample.
	KindAutoregressive = "autoregressive"
)

// Config describes a conditional neural spline flow.
//
// For Dim = 1 every transform is a spline whose parameters are an MLP of the
// context alone, and Kind is ignored. For Dim > 1 Kind chooses coupling or
// autoregressive transforms.
type Config struct {
	// Dim is the number of (standardised) parameters the flow models.
	Dim int
	// Transforms is the number of spline transforms composed.
	Transforms int
	// Hidden is the width of each hidden layer of the conditioner networks.
	Hidden int
	// HiddenLayers is the number of hidden layers of each conditioner (>= 1).
	HiddenLayers int
	// Bins is the number of spline bins K.
	Bins int
	// Bound is B: each spline acts on [-B, B] and is the identity outside.
	// Parameters are expected standardised, so a few units suffice.
	Bound float64
	// Kind is KindCoupling or KindAutoregressive (used when Dim > 1).
	Kind string
	// Seed seeds the initial values of the variables: the same seed gives
	// the same initial flow on every run and backend.
	Seed uint64
}

// DefaultConfig returns the reference configuration for dim parameters:
// 4 transforms, two hidden layers of 32 units, 8 bins on [-5, 5], coupling
// transforms for dim > 1.
func DefaultConfig(dim int) Config {
	return Config{
		Dim:          dim,
		Transforms:   4,
		Hidden:       32,
		HiddenLayers: 2,
		Bins:         8,
		Bound:        5,
		Kind:         KindCoupling,
		Seed:         1,
	}
}

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	var errs []error
	if c.Dim < 1 {
		errs = append(errs, fmt.Errorf("Dim = %d, want >= 1", c.Dim))
	}
	if c.Transforms < 1 {
		errs = append(errs, fmt.Errorf("Transforms = %d, want >= 1", c.Transforms))
	}
	if c.Hidden < 1 {
		errs = append(errs, fmt.Errorf("Hidden = %d, want >= 1", c.Hidden))
	}
	if c.HiddenLayers < 1 {
		errs = append(errs, fmt.Errorf("HiddenLayers = %d, want >= 1", c.HiddenLayers))
	}
	if c.Bins < 2 {
		errs = append(errs, fmt.Errorf("Bins = %d, want >= 2", c.Bins))
	}
	if !(c.Bound > 0) || math.IsInf(c.Bound, 0) {
		errs = append(errs, fmt.Errorf("Bound = %g, want positive and finite", c.Bound))
	}
	if c.Dim > 1 {
		switch c.Kind {
		case KindCoupling, KindAutoregressive:
		default:
			errs = append(errs, fmt.Errorf("Kind = %q, want %q or %q", c.Kind, KindCoupling, KindAutoregressive))
		}
		if c.Kind == KindAutoregressive && c.Hidden < c.Dim {
			errs = append(errs, fmt.Errorf("Hidden = %d < Dim = %d: autoregressive masks need a hidden unit per degree", c.Hidden, c.Dim))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("flows: invalid config: %w", errors.Join(errs...))
	}
	return nil
}
