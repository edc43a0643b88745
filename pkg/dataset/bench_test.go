package dataset

import (
	"os"
	"path/filepath"
	"testing"
)

// benchLenses is the benchmark dataset: 2000 lenses of 4 bands x 48 x 48.
const benchLenses = 2000

func benchMeta() Meta {
	m := testMeta()
	m.NX, m.NY = 48, 48
	return m
}

// writeBench writes the benchmark dataset (one shard) to path.
func writeBench(b *testing.B, path string, img, vr []float32, p []float64) {
	w, err := Create(path, benchMeta(), testColumns(), benchLenses, WriterOptions{Force: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchLenses; i++ {
		img[len(img)-1] = float32(i)
		if err := w.Write(img, vr, p); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWrite writes 2000 lenses (images + variance + params, fsync
// included); MB/s counts image and variance bytes.
func BenchmarkWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.fits")
	img, vr, p := testLens(benchMeta(), 5, 0)
	b.SetBytes(int64(benchLenses * len(img) * 4 * 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		writeBench(b, path, img, vr, p)
	}
}

// BenchmarkRead opens the 2000-lens file (validating headers and PARAMS) and
// reads all images and variances in batches of 64.
func BenchmarkRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.fits")
	img, vr, p := testLens(benchMeta(), 5, 0)
	writeBench(b, path, img, vr, p)
	b.SetBytes(int64(benchLenses * len(img) * 4 * 2))
	var buf []float32
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for s := 0; s < benchLenses; s += 64 {
			n := min(64, benchLenses-s)
			if buf, err = d.ReadImages(s, n, buf); err != nil {
				b.Fatal(err)
			}
			if buf, err = d.ReadVariance(s, n, buf); err != nil {
				b.Fatal(err)
			}
		}
		d.Close()
	}
	b.StopTimer()
	os.Remove(path)
}

// BenchmarkOpen measures Open alone (header scan + fitsio PARAMS decode).
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.fits")
	img, vr, p := testLens(benchMeta(), 5, 0)
	writeBench(b, path, img, vr, p)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		d.Close()
	}
}
