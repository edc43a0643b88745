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
	// pure[c] is the bin of every target whose cell index
	// int(target * pureScale) is c, or -1 where that is not one bin (a
	// running sum lies within two cells of c); nil when there are too many
	// bins for int16
	pure      []int16
	pureScale float64 // pureLen / total
}

// pureLen is the number of cells of distSampler's pure table.
const pureLen = 1024

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
	if len(s.idx) > 0 && n <= math.MaxInt16 {
		// A target of cell c (int(target * pureScale) = c) lies in
		// [c - 1, c + 2) total / pureLen even allowing for the rounding of
		// the product; widened to [c - 2, c + 3) for the rounding of the
		// edges themselves. The bin is the same for every target there iff
		// no running sum lies inside (as search's count of the sums <=
		// target is then constant).
		s.pure = make([]int16, pureLen)
		s.pureScale = pureLen / s.total
		for c := range s.pure {
			a := float64(c-2) * s.total / pureLen
			b := float64(c+3) * s.total / pureLen
			na, nb := 0, 0
			for _, v := range s.acc {
				if v <= a {
					na++
				}
				if v < b {
					nb++
				}
			}
			s.pure[c] = -1
			if na == nb {
				s.pure[c] = int16(s.idx[min(na, len(s.idx)-1)])
			}
		}
	}
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
	u := r.Float64()
	if s.single {
		return s.at(u, 0)
	}
	return s.at(u, r.Float64())
}

// draws is the number of uniform numbers sample consumes (one for a Discrete
// or single-valued distribution, else two).
func (s *distSampler) draws() int {
	if s.single {
		return 1
	}
	return 2
}

// at is sample given its uniform numbers: u picks the bin, v (unused when
// draws() is 1) the position within it.
func (s *distSampler) at(u, v float64) float64 {
	target := u * s.total
	k := 0
	if c := int(target * s.pureScale); s.pure != nil && uint(c) < pureLen && s.pure[c] >= 0 {
		k = int(s.pure[c])
	} else if len(s.idx) > 0 {
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
	x := lo + (1-v)*(hi-lo)
	if !(x > 0) {
		x = s.values[k]
	}
	return x
}

// condSampler draws a preset's per-band observing conditions as
// survey.Preset.SampleConditions does (same order of draws, bit-identical).
// sample does it in one go; draw and finish split it, so that a candidate
// rejected on its seeing alone skips the sky and exposure-time arithmetic
// (draw consumes all the random numbers, finish draws none).
type condSampler struct {
	see, sky, exp []distSampler
	names         []string
	nexp          []int
	// offset of each band's first uniform number in draw's buffer (see, sky
	// and exp follow each other), and the buffer's length
	off []int
	nu  int
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
		c.off = append(c.off, c.nu)
		c.nu += c.see[i].draws() + c.sky[i].draws() + c.exp[i].draws()
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

// draw consumes the random numbers sample would (u, of length c.nu+1, keeps
// them) and sets every field of dst but SkyMag and ExpTime (zero), which
// finish(u, dst) then sets: dst is then what sample would have written.
func (c *condSampler) draw(r *rand.Rand, u []float64, dst []survey.Conditions) {
	u = u[:c.nu+1] // one spare entry: at reads a second number even where it ignores it
	for k := range c.nu {
		u[k] = r.Float64()
	}
	u[c.nu] = 0
	for i := range c.see {
		o := c.off[i]
		dst[i] = survey.Conditions{
			Band:   c.names[i],
			Seeing: c.see[i].at(u[o], u[o+1]),
			NExp:   c.nexp[i],
		}
	}
}

// finish completes draw's conditions from its uniform numbers u.
func (c *condSampler) finish(u []float64, dst []survey.Conditions) {
	for i := range c.see {
		o := c.off[i] + c.see[i].draws()
		dst[i].SkyMag = c.sky[i].at(u[o], u[o+1])
		o += c.sky[i].draws()
		dst[i].ExpTime = c.exp[i].at(u[o], u[o+1])
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
