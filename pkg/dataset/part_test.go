package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSplitParts checks that the parts are disjoint, cover every lens and
// file once, in order, and differ by at most one file.
func TestSplitParts(t *testing.T) {
	for _, c := range []struct{ ntotal, size, jobs int }{
		{10, 3, 1}, {10, 3, 2}, {10, 3, 4}, {25000, 5000, 5}, {25000, 5000, 3}, {7, 7, 1}, {1001, 10, 7},
	} {
		parts, err := SplitParts(c.ntotal, c.size, c.jobs)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		nfiles := len(ShardPaths("x.fits", c.ntotal, c.size))
		lens, file := 0, 0
		minF, maxF := nfiles, 0
		for j, p := range parts {
			if p.Index != j || p.Count != c.jobs || p.First != lens || p.FirstShard != file {
				t.Fatalf("%+v: part %d = %+v, want it to start at lens %d, file %d", c, j, p, lens, file)
			}
			if p.First != p.FirstShard*c.size || p.End <= p.First {
				t.Fatalf("%+v: part %d = %+v does not start on a file boundary or is empty", c, j, p)
			}
			lens, file = p.End, p.EndShard
			minF, maxF = min(minF, p.EndShard-p.FirstShard), max(maxF, p.EndShard-p.FirstShard)
		}
		if lens != c.ntotal || file != nfiles || maxF-minF > 1 {
			t.Fatalf("%+v: parts end at lens %d, file %d (want %d, %d), files per job %d..%d", c, lens, file, c.ntotal, nfiles, minF, maxF)
		}
	}
	_, err := SplitParts(10, 5, 3)
	wantErr(t, err, "2 file(s)", "3 jobs", "shard size <= 4")
	_, err = SplitParts(10, 5, 0)
	wantErr(t, err, "number of jobs 0")
}

// TestPartsConcatenate writes a dataset whole and as three independent jobs:
// the jobs' files are byte for byte the single writer's, and they open as
// one dataset.
func TestPartsConcatenate(t *testing.T) {
	m, cols := testMeta(), testColumns()
	const ntotal, size = 11, 2 // 6 files, the last holding one lens
	whole := t.TempDir()
	want := writeTestDataset(t, filepath.Join(whole, "d.fits"), m, cols, ntotal, WriterOptions{ShardSize: size})
	jobs := t.TempDir()
	parts, err := SplitParts(ntotal, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, j := range []int{2, 0, 1} { // any order
		p := parts[j]
		w, err := Create(filepath.Join(jobs, "d.fits"), m, cols, ntotal, WriterOptions{ShardSize: size, Job: j, Jobs: 3})
		if err != nil {
			t.Fatal(err)
		}
		for i := p.First; i < p.End; i++ {
			img, vr, prm := testLens(m, len(cols), i)
			if err := w.Write(img, vr, prm); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(testLens(m, len(cols), p.End)); err == nil {
			t.Fatalf("job %d accepted a lens beyond its part", j)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if len(w.Paths()) != p.EndShard-p.FirstShard {
			t.Fatalf("job %d wrote %v, want %d files", j, w.Paths(), p.EndShard-p.FirstShard)
		}
		got = append(got, w.Paths()...)
	}
	if len(got) != len(want) {
		t.Fatalf("jobs wrote %d files, the single run %d", len(got), len(want))
	}
	for _, p := range want {
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(jobs, filepath.Base(p)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the single run and the jobs", filepath.Base(p))
		}
	}
	d, err := Open(filepath.Join(jobs, "d.fits"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkContents(t, d, m, cols, 0, ntotal)
}

// TestPartOverwrite: a job refuses its own existing files without Force,
// ignores the other jobs' files, and with Force never removes them.
func TestPartOverwrite(t *testing.T) {
	m, cols := testMeta(), testColumns()
	dir := t.TempDir()
	path := filepath.Join(dir, "d.fits")
	write := func(j int, force bool) error {
		parts, _ := SplitParts(6, 2, 3)
		w, err := Create(path, m, cols, 6, WriterOptions{ShardSize: 2, Force: force, Job: j, Jobs: 3})
		if err != nil {
			return err
		}
		for i := parts[j].First; i < parts[j].End; i++ {
			if err := w.Write(testLens(m, len(cols), i)); err != nil {
				return err
			}
		}
		return w.Close()
	}
	for j := range 3 {
		if err := write(j, false); err != nil {
			t.Fatalf("job %d beside the others' files: %v", j, err)
		}
	}
	wantErr(t, write(1, false), "d-001.fits already exists")
	if err := write(1, true); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, dir); len(names) != 3 {
		t.Fatalf("after a forced job rerun the directory holds %v", names)
	}
	// An unfinished job reports its own files only.
	w, err := Create(path, m, cols, 6, WriterOptions{ShardSize: 2, Force: true, Job: 2, Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(testLens(m, len(cols), 4)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, w.Close(), "closed after 1 of 2 lenses", "partial")
	if _, err := Create(path, m, cols, 6, WriterOptions{ShardSize: 2, Job: 3, Jobs: 3}); err == nil {
		t.Fatal("job 3 of 3 accepted")
	}
}
