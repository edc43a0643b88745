package npe

import (
	"errors"
	"fmt"
	"math"
)

// ParamSpec describes how one target is mapped to the flow's space:
// u = (f(x) - Mean) / Std with f = ln when Log is set, the identity otherwise.
type ParamSpec struct {
	Name string  `json:"name"`
	Unit string  `json:"unit"`
	Log  bool    `json:"log"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Transform maps physical parameters to standardised flow coordinates and back.
type Transform struct {
	Params []ParamSpec `json:"params"`
}

// LogTargets lists the targets modelled in log space (positive, spanning a
// factor of several): the Einstein radius and the velocity dispersion.
var LogTargets = map[string]bool{"THETA_E": true, "SIGMA_V": true}

// FitTransform chooses means and standard deviations from training values:
// cols[k] holds parameter names[k] for every training lens.
func FitTransform(names, units []string, cols [][]float64) (Transform, error) {
	if len(names) != len(cols) || len(units) != len(names) {
		return Transform{}, errors.New("npe: names, units and columns differ in length")
	}
	var t Transform
	for k, name := range names {
		ps := ParamSpec{Name: name, Unit: units[k], Log: LogTargets[name]}
		var sum, sum2 float64
		n := 0
		for i, v := range cols[k] {
			if ps.Log {
				if !(v > 0) {
					return Transform{}, fmt.Errorf("npe: %s[%d] = %g must be > 0 (modelled in log space)", name, i, v)
				}
				v = math.Log(v)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Transform{}, fmt.Errorf("npe: %s[%d] is %g", name, i, v)
			}
			sum += v
			sum2 += v * v
			n++
		}
		if n < 2 {
			return Transform{}, fmt.Errorf("npe: %s: need at least 2 values", name)
		}
		ps.Mean = sum / float64(n)
		ps.Std = math.Sqrt(math.Max(sum2/float64(n)-ps.Mean*ps.Mean, 0))
		if !(ps.Std > 0) {
			return Transform{}, fmt.Errorf("npe: %s has no spread in the training data", name)
		}
		t.Params = append(t.Params, ps)
	}
	return t, nil
}

// Dim is the number of parameters.
func (t Transform) Dim() int { return len(t.Params) }

// Names lists the parameter names in order.
func (t Transform) Names() []string {
	out := make([]string, len(t.Params))
	for i, p := range t.Params {
		out[i] = p.Name
	}
	return out
}

// Forward maps one physical value of parameter k to flow space.
func (t Transform) Forward(k int, x float64) float64 {
	p := t.Params[k]
	if p.Log {
		x = math.Log(x)
	}
	return (x - p.Mean) / p.Std
}

// Inverse maps a flow-space value of parameter k back to physical units.
func (t Transform) Inverse(k int, u float64) float64 {
	p := t.Params[k]
	x := u*p.Std + p.Mean
	if p.Log {
		return math.Exp(x)
	}
	return x
}

// LogDetJacobian returns log |du/dx| of parameter k at physical value x: add
// it to a flow-space log density to get the physical-space density.
func (t Transform) LogDetJacobian(k int, x float64) float64 {
	p := t.Params[k]
	l := -math.Log(p.Std)
	if p.Log {
		l -= math.Log(x)
	}
	return l
}

// Validate checks every spec.
func (t Transform) Validate() error {
	if len(t.Params) == 0 {
		return errors.New("npe: transform has no parameters")
	}
	for _, p := range t.Params {
		if !(p.Std > 0) || math.IsNaN(p.Mean) || math.IsInf(p.Mean, 0) {
			return fmt.Errorf("npe: parameter %s: invalid mean %g / std %g", p.Name, p.Mean, p.Std)
		}
	}
	return nil
}
