package npe

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestTransformRoundTripAndStandardises(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 5000
	te := make([]float64, n)
	zl := make([]float64, n)
	for i := range te {
		te[i] = math.Exp(0.3*r.NormFloat64()) * 1.2
		zl[i] = 0.5 + 0.2*r.NormFloat64()
	}
	tr, err := FitTransform([]string{"THETA_E", "Z_LENS"}, []string{"arcsec", ""}, [][]float64{te, zl})
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Params[0].Log || tr.Params[1].Log {
		t.Fatal("log flags wrong")
	}
	var s0, s1, q0 float64
	for i := range te {
		u := tr.Forward(0, te[i])
		s0 += u
		q0 += u * u
		s1 += tr.Forward(1, zl[i])
		if back := tr.Inverse(0, u); math.Abs(back-te[i]) > 1e-12*te[i] {
			t.Fatalf("round trip %g -> %g", te[i], back)
		}
	}
	if math.Abs(s0/float64(n)) > 1e-9 || math.Abs(s1/float64(n)) > 1e-9 || math.Abs(q0/float64(n)-1) > 1e-9 {
		t.Errorf("not standardised: mean %g %g, var %g", s0/float64(n), s1/float64(n), q0/float64(n))
	}
	// Jacobian against finite differences.
	x, h := 1.3, 1e-6
	fd := math.Log((tr.Forward(0, x+h) - tr.Forward(0, x-h)) / (2 * h))
	if math.Abs(fd-tr.LogDetJacobian(0, x)) > 1e-6 {
		t.Errorf("log |du/dx| %g, finite difference %g", tr.LogDetJacobian(0, x), fd)
	}
}

func TestFitTransformErrors(t *testing.T) {
	if _, err := FitTransform([]string{"THETA_E"}, []string{""}, [][]float64{{1, -1}}); err == nil {
		t.Error("negative log-space value accepted")
	}
	if _, err := FitTransform([]string{"Z_LENS"}, []string{""}, [][]float64{{1, 1, 1}}); err == nil {
		t.Error("constant column accepted")
	}
}
