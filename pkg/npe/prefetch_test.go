package npe

import (
	"errors"
	"io"
	"slices"
	"testing"
)

// TestPrefetchSameBatches: reading ahead changes nothing in what a source
// delivers, epoch after epoch, including an epoch abandoned half-way.
func TestPrefetchSameBatches(t *testing.T) {
	s := testSim(t)
	d := openSimulated(t, s, 40)
	path, ds, pc, tr := d.path, d.ds, d.pc, d.tr
	newSrc := func() Source {
		src, err := NewFITSSource(ds, path, nil, pc, tr, 8, 12, 5)
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	read := func(src Source, e, limit int) (idx []int, imgs []float32) {
		if err := src.Epoch(e); err != nil {
			t.Fatal(err)
		}
		var b Batch
		for k := 0; k < limit; k++ {
			err := src.Next(&b)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			idx = append(idx, b.Index...)
			imgs = append(imgs, b.Images...)
		}
		return idx, imgs
	}
	plain, ahead := newSrc(), newPrefetch(newSrc(), 2)
	defer ahead.Close()
	for _, c := range []struct{ epoch, limit int }{{0, 99}, {1, 2}, {1, 99}, {2, 99}} {
		wi, wimg := read(plain, c.epoch, c.limit)
		gi, gimg := read(ahead, c.epoch, c.limit)
		if !slices.Equal(wi, gi) || !slices.Equal(wimg, gimg) {
			t.Fatalf("epoch %d (up to %d batches): prefetched batches differ", c.epoch, c.limit)
		}
	}
	// After the end of an epoch, Next keeps reporting io.EOF.
	var b Batch
	if err := ahead.Next(&b); !errors.Is(err, io.EOF) {
		t.Errorf("Next after the epoch's end: %v, want io.EOF", err)
	}
}
