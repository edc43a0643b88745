package simulate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/survey"
)

// TestCondSamplerSplit: draw followed by finish gives exactly what sample
// gives and leaves the random stream in the same state, for every preset;
// draw alone sets the seeing and leaves the sky and exposure time zero.
func TestCondSamplerSplit(t *testing.T) {
	for _, name := range survey.PresetNames() {
		p, err := survey.LoadPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		cs := newCondSampler(p)
		ra, rb := rand.New(rand.NewPCG(7, 8)), rand.New(rand.NewPCG(7, 8))
		got := make([]survey.Conditions, len(p.Bands))
		want := make([]survey.Conditions, len(p.Bands))
		u := make([]float64, cs.nu+1)
		for i := 0; i < 20000; i++ {
			cs.draw(ra, u, got)
			cs.sample(rb, want)
			for k := range got {
				if got[k].Seeing != want[k].Seeing || got[k].SkyMag != 0 || got[k].ExpTime != 0 {
					t.Fatalf("%s draw %d band %d: draw gave %+v, sample %+v", name, i, k, got[k], want[k])
				}
			}
			if ra.Uint64() != rb.Uint64() {
				t.Fatalf("%s draw %d: draw and sample consume different numbers", name, i)
			}
			cs.finish(u, got)
			for k := range got {
				if got[k] != want[k] {
					t.Fatalf("%s draw %d band %d: draw+finish gave %+v, sample %+v", name, i, k, got[k], want[k])
				}
			}
		}
	}
}

// TestSourceRatesTabulated: the simulator's population tabulates, for every
// catalogue source, the flux rate FluxRate gives for the magnitudes a drawn
// source carries, bit for bit, in every band of every preset.
func TestSourceRatesTabulated(t *testing.T) {
	for _, name := range survey.PresetNames() {
		s := newSim(t, name, nil)
		pop := s.Population()
		n := pop.NumSources()
		if n < 1000 {
			t.Fatalf("%s: only %d catalogue sources", name, n)
		}
		for i := 0; i < n; i++ {
			f := pop.SourceFluxes(i)
			if len(f) != len(s.bands) {
				t.Fatalf("%s: source %d has %d fluxes for %d bands", name, i, len(f), len(s.bands))
			}
			for b := range f {
				band := &s.cfg.Preset.Bands[b]
				if want := band.FluxRate(pop.SourceMag(i, b)); math.Float64bits(f[b]) != math.Float64bits(want) {
					t.Fatalf("%s source %d band %s: table %v, FluxRate %v", name, i, band.Name, f[b], want)
				}
			}
		}
		// and a drawn source's magnitudes are the catalogue's
		r := rand.New(rand.NewPCG(1, 2))
		for k := 0; k < 200; k++ {
			sys := pop.Draw(r)
			for b, m := range sys.Source.Mags {
				if m != pop.SourceMag(sys.Source.CatIndex, b) {
					t.Fatalf("%s: drawn source %d band %d magnitude %v, catalogue %v", name, sys.Source.CatIndex, b, m, pop.SourceMag(sys.Source.CatIndex, b))
				}
			}
		}
	}
}

// TestInvBkgHi: setInvBkgHi bounds 1/background of PixelVariance from above
// for drawn conditions (and for sky magnitudes and exposure times well
// outside the presets' ranges) in every preset, by less than 1e-8.
func TestInvBkgHi(t *testing.T) {
	for _, name := range survey.PresetNames() {
		s := newSim(t, name, nil)
		w := s.newWorker()
		r := rand.New(rand.NewPCG(3, 4))
		worst := 0.0
		for i := 0; i < 50000; i++ {
			s.conds.sample(r, w.cond)
			if i%2 == 1 {
				for b := range w.cond {
					w.cond[b].SkyMag = 10 + 25*r.Float64()
					w.cond[b].ExpTime = 1 + 2000*r.Float64()
				}
			}
			w.setInvBkgHi()
			for b := range s.bands {
				_, bkg := s.cfg.Preset.PixelVariance(&s.cfg.Preset.Bands[b], w.cond[b])
				exact := 1 / bkg
				if !(w.invBkgHi[b] >= exact) {
					t.Fatalf("%s band %d %+v: bound %v below 1/bkg %v", name, b, w.cond[b], w.invBkgHi[b], exact)
				}
				worst = math.Max(worst, w.invBkgHi[b]/exact-1)
			}
		}
		t.Logf("%s: largest excess %.3g", name, worst)
		if worst > 1e-8 {
			t.Errorf("%s: bound loose by %.3g", name, worst)
		}
	}
}

// TestSnrCapAt: with the exact 1/background, snrCapAt is snrCap; with
// setInvBkgHi's bounds it is at least snrCap, on drawn candidates.
func TestSnrCapAt(t *testing.T) {
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20000; i++ {
		s.conds.sample(r, w.cond)
		for b := range s.bands {
			w.flux[b] = math.Exp(3 * r.NormFloat64())
			w.ksq[b] = s.ksq.bound(w.cond[b].Seeing / s.pix)
			_, bkg := s.cfg.Preset.PixelVariance(&s.cfg.Preset.Bands[b], w.cond[b])
			w.invBkg[b] = 1 / bkg
		}
		w.setInvBkgHi()
		mu, i0a := math.Exp(2*r.Float64()), math.Exp(-3*r.Float64())
		exact := w.snrCap(mu, i0a)
		if got := w.snrCapAt(mu, i0a, w.invBkg); got != exact {
			t.Fatalf("snrCapAt %v, snrCap %v", got, exact)
		}
		if hi := w.snrCapAt(mu, i0a, w.invBkgHi); !(hi >= exact) || hi > exact*(1+1e-8) {
			t.Fatalf("snrCapAt with the bounds %v, snrCap %v", hi, exact)
		}
	}
}

// BenchmarkCheapFront: candidates that never get past the cheap front (the
// SNR threshold is out of reach, so every candidate is rejected at the
// resolution cut or the SNR cap at the magnification bound): the population
// draw, the conditions and the first two cuts.
func BenchmarkCheapFront(b *testing.B) {
	s := newSim(b, "delve", func(c *Config) { c.Cuts.MinSNR = 1e12 })
	w := s.newWorker()
	l := s.NewLens()
	w.pcg.Seed(1, 2)
	for b.Loop() {
		for range 1000 {
			if ok, _ := w.candidate(l, 1); ok {
				b.Fatal("a candidate passed an SNR threshold of 1e12")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/candidate")
}

// TestDistSamplerRandom: distSampler (its pure-cell table, guide table and
// search) draws exactly what survey.Distribution.Sample draws, from the same
// random numbers, for random distributions with zero, tiny and huge weights,
// few and many bins, discrete or not.
func TestDistSamplerRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	pureUsed := 0
	for trial := 0; trial < 300; trial++ {
		n := 1 + r.IntN(60)
		if trial%10 == 0 {
			n = 1 + r.IntN(3000)
		}
		d := survey.Distribution{Discrete: trial%3 == 0}
		v := 0.1 * r.Float64()
		for k := 0; k < n; k++ {
			v += 0.01 + r.Float64()
			d.Values = append(d.Values, v)
			w := r.Float64()
			switch r.IntN(6) {
			case 0:
				w = 0
			case 1:
				w *= 1e-17
			case 2:
				w *= 1e6
			}
			d.Weights = append(d.Weights, w)
		}
		d.Weights[r.IntN(n)] = 1 // at least one positive weight
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		ds := newDistSampler(d)
		for _, c := range ds.pure {
			if c >= 0 {
				pureUsed++
			}
		}
		seed := r.Uint64()
		ra, rb := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 1))
		for i := 0; i < 3000; i++ {
			got, want := ds.sample(ra), d.Sample(rb)
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("trial %d (%d bins) draw %d: %v, want %v", trial, n, i, got, want)
			}
		}
		if ra.Uint64() != rb.Uint64() {
			t.Fatalf("trial %d: streams diverged", trial)
		}
	}
	if pureUsed == 0 {
		t.Error("the pure-cell table was never used")
	}
}

// seqSource is a rand.Source that returns the numbers in seq, in turn.
type seqSource struct {
	seq []uint64
	i   int
}

func (s *seqSource) Uint64() uint64 {
	v := s.seq[s.i%len(s.seq)]
	s.i++
	return v
}

// TestDistSamplerEdges: at the uniform numbers closest to every cell edge of
// the pure-cell table and to every bin boundary (within a few units in the
// last place), distSampler draws what survey.Distribution.Sample draws.
func TestDistSamplerEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 40; trial++ {
		n := 2 + r.IntN(40)
		d := survey.Distribution{Discrete: trial%2 == 0}
		for k := 0; k < n; k++ {
			d.Values = append(d.Values, float64(k+1))
			w := r.Float64()
			if r.IntN(4) == 0 {
				w = 0
			}
			d.Weights = append(d.Weights, w)
		}
		d.Weights[0] = 0.5
		ds := newDistSampler(d)
		var us []float64
		for c := 0; c <= pureLen; c++ {
			us = append(us, float64(c)/pureLen)
		}
		for _, a := range ds.acc {
			us = append(us, a/ds.total)
		}
		src := &seqSource{seq: []uint64{0, 1 << 52}}
		rs := rand.New(src)
		for _, u := range us {
			j := int64(u * (1 << 53))
			for dj := int64(-4); dj <= 4; dj++ {
				if j+dj < 0 || j+dj >= 1<<53 {
					continue
				}
				src.seq[0] = uint64(j + dj)
				src.i = 0
				got := ds.sample(rs)
				src.i = 0
				want := d.Sample(rs)
				if math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("trial %d u = %d/2^53: %v, want %v", trial, j+dj, got, want)
				}
			}
		}
	}
}
