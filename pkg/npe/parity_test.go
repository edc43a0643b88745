package npe

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/mlbackend"
)

// TestXLAParity trains the same tiny joint model for two epochs on the Go
// backend and on XLA-CPU and compares losses and posterior samples. It runs
// when an XLA CPU plugin is installed (`make xla`; CI does).
func TestXLAParity(t *testing.T) {
	plugin := mlbackend.FindPlugin("cpu")
	if plugin == "" {
		t.Skip("no XLA CPU plugin installed (make xla)")
	}
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeJoint)
		f.card.Config.Epochs = 2
		dirs := map[string]string{}
		hist := map[string][]EpochRecord{}
		for _, b := range []string{"go", "xla:cpu"} {
			dir := filepath.Join(t.TempDir(), "m")
			res, err := Train(context.Background(), dir, f.card, f.trainSrc, f.valSrc, TrainOptions{Backend: b})
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			dirs[b], hist[b] = dir, res.State.History
		}
		for i := range hist["go"] {
			a, b := hist["go"][i], hist["xla:cpu"][i]
			t.Logf("epoch %d: go train %.6f val %.6f | xla train %.6f val %.6f", i+1, a.TrainLoss, a.ValLoss, b.TrainLoss, b.ValLoss)
			if math.Abs(a.TrainLoss-b.TrainLoss) > 1e-3*math.Max(1, math.Abs(a.TrainLoss)) || math.Abs(a.ValLoss-b.ValLoss) > 1e-3*math.Max(1, math.Abs(a.ValLoss)) {
				t.Errorf("epoch %d losses differ between backends", i+1)
			}
		}
		ds, err := dataset.Open(f.card.Data.Train)
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		imgs, _ := ds.ReadImages(0, 8, nil)
		var post [2]*Posterior
		for k, b := range []string{"go", "xla:cpu"} {
			est, err := Load(dirs["go"], b) // the same weights on both backends
			if err != nil {
				t.Fatal(err)
			}
			post[k], err = est.Posterior(imgs, 8, PosteriorOptions{Samples: 100, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
		}
		worst := 0.0
		for i, v := range post[0].Samples {
			d := math.Abs(float64(v-post[1].Samples[i])) / math.Max(1, math.Abs(float64(v)))
			worst = math.Max(worst, d)
		}
		t.Logf("posterior samples: worst relative difference go vs xla:cpu %.2g", worst)
		if worst > 1e-3 {
			t.Errorf("posterior samples differ between backends by %.2g", worst)
		}
	})
}

// TestDataParallel trains the same tiny joint model on XLA-CPU with one
// device and with the batch split over two host devices (devices=2): data
// parallelism must not change the optimisation, so the loss histories agree
// to float32 round-off.
func TestDataParallel(t *testing.T) {
	if mlbackend.FindPlugin("cpu") == "" {
		t.Skip("no XLA CPU plugin installed (make xla)")
	}
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeJoint)
		f.card.Config.Epochs = 2
		hist := map[string][]EpochRecord{}
		for _, b := range []string{"xla:cpu", "xla:cpu,devices=2"} {
			want := 1
			if b != "xla:cpu" {
				want = 2
			}
			res, err := Train(context.Background(), filepath.Join(t.TempDir(), "m"), f.card, f.trainSrc, f.valSrc, TrainOptions{Backend: b, Devices: want})
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if res.State.Devices != want {
				t.Fatalf("%s trained on %d devices, want %d", b, res.State.Devices, want)
			}
			hist[b] = res.State.History
		}
		for i := range hist["xla:cpu"] {
			a, b := hist["xla:cpu"][i], hist["xla:cpu,devices=2"][i]
			t.Logf("epoch %d: 1 device train %.6f val %.6f | 2 devices train %.6f val %.6f", i+1, a.TrainLoss, a.ValLoss, b.TrainLoss, b.ValLoss)
			if math.Abs(a.TrainLoss-b.TrainLoss) > 1e-3*math.Max(1, math.Abs(a.TrainLoss)) || math.Abs(a.ValLoss-b.ValLoss) > 1e-3*math.Max(1, math.Abs(a.ValLoss)) {
				t.Errorf("epoch %d: losses differ between one and two devices", i+1)
			}
		}
		// Asking for more devices than exist, or a split that leaves a
		// remainder, is a clear error.
		for _, c := range []struct {
			backend string
			devices int
			want    string
		}{{"xla:cpu,devices=2", 4, "has 2"}, {"xla:cpu,devices=3", 3, "does not split evenly"}} {
			_, err := Train(context.Background(), filepath.Join(t.TempDir(), "m"), f.card, f.trainSrc, f.valSrc, TrainOptions{Backend: c.backend, Devices: c.devices})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s with %d devices: error %v, want one containing %q", c.backend, c.devices, err, c.want)
			}
		}
	})
}
