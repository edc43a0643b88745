package npe

import "testing"

// TestSimVersionText checks how a card describes its data's simulator
// output versions, including FITS files that predate the SIMVER keyword.
func TestSimVersionText(t *testing.T) {
	for _, c := range []struct {
		d    DataInfo
		want string
	}{
		{DataInfo{SimVersion: 1}, "simulator output version 1"},
		{DataInfo{}, "simulator output version not recorded"},
		{DataInfo{OnTheFly: true, SimVersion: 2, FlySimVersion: 2}, "simulator output version 2"},
		{DataInfo{OnTheFly: true, FlySimVersion: 1}, "simulator output version 1 (FITS data: not recorded)"},
		{DataInfo{OnTheFly: true, SimVersion: 1}, "simulator output version not recorded (FITS data: 1)"},
	} {
		if got := c.d.SimVersionText(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.d, got, c.want)
		}
	}
}

// TestSecondsBehind: a fine-tuned model's time includes its initial
// model's; a combined model's State.Seconds already does, so its first
// network's Data.InitFromSeconds must not be added again.
func TestSecondsBehind(t *testing.T) {
	plain := &Card{State: TrainState{Seconds: 100}, Data: DataInfo{InitFromSeconds: 40}}
	if got := secondsBehind(plain); got != 140 {
		t.Errorf("fine-tuned model: %g s, want 140", got)
	}
	combined := &Card{State: TrainState{Seconds: 140}, Data: DataInfo{InitFromSeconds: 40},
		Components: []Component{{Target: "THETA_E", Seconds: 100, Data: DataInfo{InitFromSeconds: 40}}}}
	if got := secondsBehind(combined); got != 140 {
		t.Errorf("combined model: %g s, want 140 (its sources' time, counted once)", got)
	}
}
