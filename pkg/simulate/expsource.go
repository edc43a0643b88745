package simulate

import (
	"math"

	"github.com/lenssbi/lenssbi/pkg/light"
)

// expSource is a unit-flux exponential (Sersic n = 1) profile evaluated with
// fastExp: the surface brightness of light.Sersic.Intensity for n = 1 (same
// b_n, amplitude, orientation and elliptical radius) to fastExp's 1e-12.
type expSource struct {
	x, y, cs, sn, q, iq float64
	ih                  float64 // b_n / R_e: 1 / scale length
	i0                  float64 // central surface brightness
	rfar2               float64 // squared cut-off radius: 0 beyond
}

// newExpSource describes sr (an n = 1 profile) with the cut-off radius rfar.
func newExpSource(sr light.Sersic, rfar float64) expSource {
	x, y := sr.Center()
	q := sr.Q()
	cs, sn := sr.Axes()
	return expSource{x: x, y: y, cs: cs, sn: sn, q: q, iq: 1 / q,
		ih: sr.Bn() / sr.Re(), i0: sr.Intensity(x, y), rfar2: rfar * rfar}
}

// at returns the surface brightness at source-plane (bx, by), zero at or
// beyond the cut-off radius.
func (e *expSource) at(bx, by float64) float64 {
	dx, dy := bx-e.x, by-e.y
	if dx*dx+dy*dy >= e.rfar2 {
		return 0
	}
	xr := e.cs*dx + e.sn*dy
	yr := -e.sn*dx + e.cs*dy
	return e.i0 * fastExp(-math.Sqrt(e.q*xr*xr+e.iq*yr*yr)*e.ih)
}
