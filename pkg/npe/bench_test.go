package npe

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/prep"
	"github.com/lenssbi/lenssbi/pkg/simulate"
	"github.com/lenssbi/lenssbi/pkg/survey"
)

// BenchmarkFITSNext measures the host side of a training step: reading a
// batch of 64 48x48x4 cutouts from FITS and preparing them (the part an
// accelerator waits for unless it is read ahead).
func BenchmarkFITSNext(b *testing.B) {
	p, err := survey.LoadPreset("delve-seed")
	if err != nil {
		b.Fatal(err)
	}
	cfg := simulate.DefaultConfig(p)
	sim, err := simulate.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "d.fits")
	var cols []dataset.Column
	for _, c := range sim.Columns() {
		cols = append(cols, dataset.Column{Name: c.Name, Unit: c.Unit})
	}
	const n = 512
	w, err := dataset.Create(path, dataset.Meta{Preset: p.Name, NX: 48, NY: 48, Bands: sim.Bands(), PixScale: p.PixelScale}, cols, n, dataset.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Run(context.Background(), 0, n, 0, func(l *simulate.Lens) error { return w.Write(l.Images, l.Variance, l.Params) }, nil); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	ds, err := dataset.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
	var tcols [][]float64
	var units []string
	for _, name := range simulate.Targets {
		c, _ := ds.Column(name)
		tcols = append(tcols, c)
		units = append(units, "")
	}
	tr, err := FitTransform(simulate.Targets, units, tcols)
	if err != nil {
		b.Fatal(err)
	}
	src, err := NewFITSSource(ds, path, nil, prep.NewConfig(p), tr, 64, 256, 1)
	if err != nil {
		b.Fatal(err)
	}
	var bt Batch
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := src.Next(&bt); errors.Is(err, io.EOF) {
			src.Epoch(i)
			i--
		} else if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkSimSource measures training on the fly from the host's side:
// simulating fresh delve-seed lenses and preparing them, in batches of 64
// (what an accelerator waits for when the simulator cannot keep up).
func BenchmarkSimSource(b *testing.B) {
	p, err := survey.LoadPreset("delve-seed")
	if err != nil {
		b.Fatal(err)
	}
	sim, err := simulate.New(simulate.DefaultConfig(p))
	if err != nil {
		b.Fatal(err)
	}
	tr := Transform{Params: []ParamSpec{{Name: "THETA_E", Log: true, Std: 0.3}}}
	src, err := NewSimSource(sim, prep.NewConfig(p), tr, 64, 64*b.N, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var bt Batch
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := src.Next(&bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "images/s")
}
