package npe

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/prep"
	"github.com/lenssbi/lenssbi/pkg/simulate"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

func testSim(t *testing.T) *simulate.Simulator {
	t.Helper()
	p, err := survey.LoadPreset("delve-seed")
	if err != nil {
		t.Fatal(err)
	}
	cfg := simulate.DefaultConfig(p)
	cfg.Size = 32
	cfg.Seed = 9
	s, err := simulate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeDataset(t *testing.T, s *simulate.Simulator, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d.fits")
	var cols []dataset.Column
	for _, c := range s.Columns() {
		cols = append(cols, dataset.Column{Name: c.Name, Unit: c.Unit})
	}
	cfg := s.Config()
	w, err := dataset.Create(path, dataset.Meta{Preset: cfg.Preset.Name, NX: cfg.Size, NY: cfg.Size, Bands: s.Bands(), PixScale: cfg.Preset.PixelScale}, cols, n, dataset.WriterOptions{ShardSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), 0, n, 0, func(l *simulate.Lens) error { return w.Write(l.Images, l.Variance, l.Params) }, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func targets(t *testing.T, ds *dataset.Dataset) Transform {
	var cols [][]float64
	var units []string
	for _, n := range simulate.Targets {
		c, err := ds.Column(n)
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
		units = append(units, "")
	}
	tr, err := FitTransform(simulate.Targets, units, cols)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// simulated is a dataset written by writeDataset and opened (closed when the
// test ends), with the preset's image preparation and a transform fitted to
// its targets: the set-up of the source and training tests.
type simulated struct {
	path string
	ds   *dataset.Dataset
	pc   prep.Config
	tr   Transform
}

// openSimulated writes n lenses of s and opens them (see simulated).
func openSimulated(t *testing.T, s *simulate.Simulator, n int) simulated {
	t.Helper()
	path := writeDataset(t, s, n)
	ds, err := dataset.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return simulated{path: path, ds: ds, pc: prep.NewConfig(s.Config().Preset), tr: targets(t, ds)}
}

// TestFITSSourceEpochs: every epoch visits each lens once (up to the dropped
// partial batch), in an order fixed by (seed, epoch), with images prepared
// exactly as prep.Apply does, across shard boundaries.
func TestFITSSourceEpochs(t *testing.T) {
	s := testSim(t)
	d := openSimulated(t, s, 40)
	path, ds, pc, tr := d.path, d.ds, d.pc, d.tr
	src, err := NewFITSSource(ds, path, nil, pc, tr, 8, 12, 5)
	if err != nil {
		t.Fatal(err)
	}
	epochOrder := func(e int) []int {
		if err := src.Epoch(e); err != nil {
			t.Fatal(err)
		}
		var idx []int
		var b Batch
		for {
			err := src.Next(&b)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.N != 8 || len(b.Images) != 8*32*32*4 || len(b.Theta) != 8*4 {
				t.Fatalf("batch sizes %d %d %d", b.N, len(b.Images), len(b.Theta))
			}
			// Every lens (prepared in parallel; batches straddle the
			// 12-lens reading windows) against a direct read.
			for k, row := range b.Index {
				raw, err := ds.ReadImages(row, 1, nil)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := pc.Apply(raw, 32, 32, nil)
				if !slices.Equal(b.Images[k*len(want):(k+1)*len(want)], want) {
					t.Fatalf("lens %d (batch position %d): prepared image differs", row, k)
				}
			}
			if got := tr.Inverse(0, float64(b.Theta[3*4])); got/b.Truth[3*4]-1 > 1e-6 {
				t.Fatalf("theta_E round trip %g vs %g", got, b.Truth[3*4])
			}
			idx = append(idx, b.Index...)
		}
		return idx
	}
	e0 := epochOrder(0)
	if len(e0) != 40 {
		t.Fatalf("epoch delivered %d lenses, want 40", len(e0))
	}
	sorted := slices.Sorted(slices.Values(e0))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("lens %d missing or repeated", i)
		}
	}
	if !slices.Equal(e0, epochOrder(0)) {
		t.Error("same epoch, different order")
	}
	if slices.Equal(e0, epochOrder(1)) {
		t.Error("epochs share an order")
	}
}

// TestSimSourceFresh: each epoch simulates new lenses, reproducibly.
func TestSimSourceFresh(t *testing.T) {
	s := testSim(t)
	pc := prep.NewConfig(s.Config().Preset)
	tr := Transform{Params: []ParamSpec{{Name: "THETA_E", Log: true, Std: 0.3}, {Name: "Z_LENS", Mean: 0.5, Std: 0.2}}}
	src, err := NewSimSource(s, pc, tr, 4, 8, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	run := func(e int) ([]int, []float32) {
		if err := src.Epoch(e); err != nil {
			t.Fatal(err)
		}
		var idx []int
		var imgs []float32
		var b Batch
		for {
			err := src.Next(&b)
			if errors.Is(err, io.EOF) {
				return idx, imgs
			}
			if err != nil {
				t.Fatal(err)
			}
			idx = append(idx, b.Index...)
			imgs = append(imgs, b.Images...)
		}
	}
	i0, m0 := run(0)
	i1, _ := run(1)
	if !slices.Equal(i0, []int{100, 101, 102, 103, 104, 105, 106, 107}) || i1[0] != 108 {
		t.Errorf("epoch indices %v then %v", i0, i1)
	}
	_, again := run(0)
	if !slices.Equal(m0, again) {
		t.Error("epoch 0 not reproduced")
	}
}

// A FITS dataset is stored lens data for FITSSource.
var _ Lenses = (*dataset.Dataset)(nil)

// TestSimSourceMatchesFITS: a network trained on the fly sees exactly what
// it would see from a FITS dataset of the same simulator: for every lens of
// an epoch, SimSource's prepared image, flow-space targets and truths equal
// those FITSSource gives for the same lens written with `lenssbi simulate`'s
// writer (by global index), bit for bit.
func TestSimSourceMatchesFITS(t *testing.T) {
	s := testSim(t)
	const n = 24
	d := openSimulated(t, s, n)
	path, ds, pc, tr := d.path, d.ds, d.pc, d.tr
	collect := func(src Source) map[int][3][]float64 {
		t.Helper()
		defer src.Close()
		if err := src.Epoch(0); err != nil {
			t.Fatal(err)
		}
		out := map[int][3][]float64{}
		var b Batch
		for {
			err := src.Next(&b)
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			per := len(b.Images) / b.N
			for i, idx := range b.Index {
				var img, theta []float64
				for _, v := range b.Images[i*per : (i+1)*per] {
					img = append(img, float64(v))
				}
				for _, v := range b.Theta[i*b.D : (i+1)*b.D] {
					theta = append(theta, float64(v))
				}
				out[idx] = [3][]float64{img, theta, slices.Clone(b.Truth[i*b.D : (i+1)*b.D])}
			}
		}
	}
	fsrc, err := NewFITSSource(ds, path, nil, pc, tr, 8, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	ssrc, err := NewSimSource(s, pc, tr, 8, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	fromFITS, fromSim := collect(fsrc), collect(ssrc)
	if len(fromSim) != n || len(fromFITS) != n {
		t.Fatalf("%d lenses on the fly, %d from FITS; want %d each", len(fromSim), len(fromFITS), n)
	}
	for idx, want := range fromFITS {
		got, ok := fromSim[idx]
		if !ok {
			t.Fatalf("lens %d from FITS only", idx)
		}
		for k, what := range []string{"prepared image", "flow-space targets", "truths"} {
			if !slices.Equal(got[k], want[k]) {
				t.Fatalf("lens %d: the %s on the fly and from FITS disagree", idx, what)
			}
		}
	}
}
