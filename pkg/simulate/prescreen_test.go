package simulate

import (
	"testing"
)

// TestPrescreenConservative: the cheap pre-screens (analytic SNR bound and
// the one-sample-per-pixel render) must never reject a candidate that the
// full render would keep. Every candidate of a fixed stream is run with and
// without the pre-screens.
func TestPrescreenConservative(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	w.pcg.Seed(5, 6)
	l := s.NewLens()
	var kept, lost int
	const n = 20000
	for i := 0; i < n; i++ {
		st := *w.pcg
		ok, err := w.candidate(l, 1)
		if err != nil {
			t.Fatal(err)
		}
		*w.pcg = st
		w.noPrescreen = true
		full, err := w.candidate(l, 1)
		w.noPrescreen = false
		if err != nil {
			t.Fatal(err)
		}
		if full {
			kept++
			if !ok {
				lost++
			}
		}
	}
	t.Logf("%d candidates: %d pass the full cuts, %d of them lost by the pre-screens", n, kept, lost)
	if kept < 10 {
		t.Fatalf("only %d candidates passed: test has no power", kept)
	}
	if lost > 0 {
		t.Errorf("pre-screens rejected %d of %d lenses that pass the full cuts", lost, kept)
	}
}
