package lensing

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFastLog compares fastLog with math.Log over the range the SIE uses
// (arguments in [1, 1e9]) and beyond, including table-interval edges and
// powers of two.
func TestFastLog(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	xs := []float64{1, math.Nextafter(1, 2), math.Nextafter(1, 0), 2, 0.5, 1.5, 1 + 1.0/128, 1 + 127.0/128, math.E, 1e9, 1e-300, 1e300}
	for i := 0; i < 200000; i++ {
		xs = append(xs, math.Exp(40*rng.Float64()-20), 1+1e-3*rng.Float64())
	}
	worst := 0.0
	for _, x := range xs {
		got, want := fastLog(x), math.Log(x)
		err := math.Abs(got-want) / math.Max(1, math.Abs(want))
		worst = max(worst, err)
		if err > 5e-16 {
			t.Fatalf("fastLog(%.17g) = %.17g, math.Log = %.17g (err %.2g)", x, got, want, err)
		}
	}
	t.Logf("worst error vs math.Log: %.3g (absolute below 1, relative above)", worst)
}

func BenchmarkFastLog(b *testing.B) {
	s := 0.0
	x := 1.0
	for b.Loop() {
		x += 0.37
		if x > 100 {
			x = 1
		}
		s += fastLog(x)
	}
	_ = s
}
