package simulate

import "testing"

// TestRejectionStages logs where delve candidates are rejected (a tuning
// aid) and checks that every drawn candidate is accounted for: kept lenses
// plus rejections equal the tries.
func TestRejectionStages(t *testing.T) {
	s := newSim(t, "delve", nil)
	w := s.newWorker()
	l := s.NewLens()
	const n = 10
	tries := 0
	for i := 0; i < n; i++ {
		if err := w.simulate(i, l); err != nil {
			t.Fatal(err)
		}
		tries += int(l.Params[s.ColumnIndex("NTRIES")])
	}
	total := 0
	for k, c := range w.stats {
		total += c
		t.Logf("%-55s %8.2f per lens", rejectStages[k], float64(c)/n)
	}
	if total+n != tries {
		t.Errorf("%d rejections + %d kept != %d tries", total, n, tries)
	}
}
