package simulate

import (
	"math"
	"math/rand/v2"
	"sync"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// distSampler draws from a survey.Distribution exactly as
// survey.Distribution.Sample does (the same random numbers, the same
// arithmetic, bit-identical values; TestConditionSampler), with the
// cumulative weights and bin edges precomputed instead of rebuilt per draw.
type distSampler struct {
	total  float64
	acc    []float64 // running sums of the positive weights, in order
	idx    []int     // the bin of each acc entry
	lo, hi []float64 // bin edges per bin (lo cut at 0)
	values []float64
	single bool // Discrete or single-valued: the bin's value itself
	// guide[g] is the first entry of acc above g total / guideLen: where a
	// target in cell g (or the cell above it) starts its search
	guide [guideLen]int32
}

// guideLen is the number of cells of distSampler's guide table.
const guideLen = 64

func newDistSampler(d survey.Distribution) distSampler {
	s := distSampler{values: d.Values, single: d.Discrete || len(d.Values) == 1}
	for _, w := range d.Weights {
		s.total += w
	}
	acc := 0.0
	for k, w := range d.Weights {
		if w <= 0 {
			continue
		}
		acc += w
		s.acc = append(s.acc, acc)
		s.idx = append(s.idx, k)
	}
	for g := range s.guide {
		lo := float64(g) * s.total / guideLen
		m := 0
		for m < len(s.acc) && s.acc[m] <= lo {
			m++
		}
		s.guide[g] = int32(m)
	}
	n := len(d.Values)
	s.lo, s.hi = make([]float64, n), make([]float64, n)
	for k := range d.Values {
		lo, hi := d.Bin(k)
		if lo < 0 {
			lo = 0
		}
		s.lo[k], s.hi[k] = lo, hi
	}
	return s
}

func (s *distSampler) sample(r *rand.Rand) float64 {
	target := r.Float64() * s.total
	k := 0
	if len(s.idx) > 0 {
		// the first running sum above target, else the last bin: a linear
		// search from the guide table's entry for the cell below target's
		// (every earlier sum is at most that cell's lower edge <= target,
		// whatever the rounding of the cell index)
		m := 0
		if g := int(target*(guideLen/s.total)) - 1; g > 0 {
			m = int(s.guide[min(g, guideLen-1)])
		}
		for m < len(s.acc) && !(target < s.acc[m]) {
			m++
		}
		k = s.idx[min(m, len(s.idx)-1)]
	}
	if s.single {
		return s.values[k]
	}
	lo, hi := s.lo[k], s.hi[k]
	x := lo + (1-r.Float64())*(hi-lo)
	if !(x > 0) {
		x = s.values[k]
	}
	return x
}

// condSampler draws a preset's per-band observing conditions as
// survey.Preset.SampleConditions does (same order of draws, bit-identical).
type condSampler struct {
	see, sky, exp []distSampler
	names         []string
	nexp          []int
}

func newCondSampler(p *survey.Preset) condSampler {
	var c condSampler
	for i := range p.Bands {
		b := &p.Bands[i]
		c.see = append(c.see, newDistSampler(b.Seeing))
		c.sky = append(c.sky, newDistSampler(b.SkyMag))
		c.exp = append(c.exp, newDistSampler(b.ExpTime))
		c.names = append(c.names, b.Name)
		c.nexp = append(c.nexp, b.NExp)
	}
	return c
}

func (c *condSampler) sample(r *rand.Rand, dst []survey.Conditions) {
	for i := range c.see {
		dst[i] = survey.Conditions{
			Band:    c.names[i],
			Seeing:  c.see[i].sample(r),
			SkyMag:  c.sky[i].sample(r),
			ExpTime: c.exp[i].sample(r),
			NExp:    c.nexp[i],
		}
	}
}

// ksqTable bounds from above the squared sum of squared taps of the
// normalised 2-D Gaussian kernel (survey.GaussianKernel1D, squared) as a
// function of the FWHM in pixels, so the SNR cap of the first pre-screen
// needs no kernel: entry m holds the largest value over 8 sub-steps of
// [m, m+1] / ksqStep (endpoints included) times 1 + 1e-9, and the value
// only decreases with the FWHM between sub-steps (TestKsqTable).
type ksqTable []float64

const (
	ksqStep = 64
	ksqMaxF = 48.0 // FWHM [pixels] covered; beyond, the kernel is built
)

func ksqOf(fwhmPix float64, buf []float64) (float64, []float64) {
	buf = survey.GaussianKernel1D(fwhmPix, buf[:0])
	var sq float64
	for _, v := range buf {
		sq += v * v
	}
	return sq * sq, buf
}

var (
	ksqOnce sync.Once
	ksqTab  ksqTable
)

// sharedKsqTable returns the package's table (built once).
func sharedKsqTable() ksqTable {
	ksqOnce.Do(func() { ksqTab = newKsqTable() })
	return ksqTab
}

func newKsqTable() ksqTable {
	n := int(ksqMaxF * ksqStep)
	t := make(ksqTable, n)
	var buf []float64
	for m := range t {
		best := 0.0
		for k := 0; k <= 8; k++ {
			var v float64
			v, buf = ksqOf((float64(m)+float64(k)/8)/ksqStep, buf)
			best = math.Max(best, v)
		}
		t[m] = best * (1 + 1e-9)
	}
	return t
}

// bound returns an upper bound on the kernel's ksq for FWHM fwhmPix pixels
// (1, the identity kernel's, beyond the table).
func (t ksqTable) bound(fwhmPix float64) float64 {
	if !(fwhmPix >= 0) || fwhmPix >= ksqMaxF {
		return 1
	}
	return t[int(fwhmPix*ksqStep)]
}
