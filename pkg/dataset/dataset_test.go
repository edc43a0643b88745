package dataset

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// checkContents compares everything a Dataset returns with testLens.
func checkContents(t *testing.T, d *Dataset, m Meta, cols []Column, first, n int) {
	t.Helper()
	if d.Len() != n {
		t.Fatalf("Len = %d, want %d", d.Len(), n)
	}
	imgs, err := d.ReadImages(0, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	vars, err := d.ReadVariance(0, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	npix := m.NX * m.NY * len(m.Bands)
	names := columnNames(d.Columns())
	params, err := d.ReadParams(0, n, names, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		img, vr, p := testLens(m, len(cols), first+i)
		if !sameBits(imgs[i*npix:(i+1)*npix], img) {
			t.Fatalf("lens %d: images differ", first+i)
		}
		if !sameBits(vars[i*npix:(i+1)*npix], vr) {
			t.Fatalf("lens %d: variance differs", first+i)
		}
		row := params[i*len(names) : (i+1)*len(names)]
		if row[0] != float64(first+i) {
			t.Fatalf("lens %d: INDEX %v", first+i, row[0])
		}
		if !slices.Equal(row[1:], p) {
			t.Fatalf("lens %d: params %v, want %v", first+i, row[1:], p)
		}
	}
}

// sameBits compares float32 slices bit for bit (so -0 and 0 differ).
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestRoundTripSingleFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "test.fits")
	m, cols := testMeta(), testColumns()
	paths := writeTestDataset(t, path, m, cols, 7, WriterOptions{})
	if !slices.Equal(paths, []string{path}) {
		t.Fatalf("paths %v", paths)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"test.fits"}) {
		t.Fatalf("directory holds %v", got)
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkContents(t, d, m, cols, 0, 7)

	got := d.Meta()
	if got.Version == "" || got.Creator != "lenssbi" {
		t.Errorf("version %q creator %q", got.Version, got.Creator)
	}
	got.Version, got.Creator = "", ""
	for i, c := range m.Extra { // integers read back as int64
		m.Extra[i].Value, _ = normalizeValue(c.Value)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("meta round trip:\n got %+v\nwant %+v", got, m)
	}
	wantCols := append([]Column{{Name: "INDEX", Format: "K", Description: "global lens index in the dataset"}}, cols...)
	for i := range wantCols {
		if wantCols[i].Format == "" {
			wantCols[i].Format = "D"
		}
	}
	if !reflect.DeepEqual(d.Columns(), wantCols) {
		t.Errorf("columns:\n got %+v\nwant %+v", d.Columns(), wantCols)
	}
	theta, err := d.Column("theta_e")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range theta {
		if v != float64(i)+0.1 {
			t.Errorf("THETA_E[%d] = %v", i, v)
		}
	}
	if _, err := d.Column("NOPE"); err == nil {
		t.Error("unknown column accepted")
	}
	if _, err := d.ReadImages(5, 3, nil); err == nil {
		t.Error("read past the end accepted")
	}
	if _, err := d.ReadImages(-1, 1, nil); err == nil {
		t.Error("negative start accepted")
	}
}

// TestRoundTripSharded writes 23 lenses in shards of 5 and reads every range
// that crosses shard boundaries, through base name, glob and single shard.
func TestRoundTripSharded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "train.fits")
	m, cols := testMeta(), testColumns()
	paths := writeTestDataset(t, path, m, cols, 23, WriterOptions{ShardSize: 5})
	var want []string
	for k := 0; k < 5; k++ {
		want = append(want, filepath.Join(dir, fmt.Sprintf("train-%03d.fits", k)))
	}
	if !slices.Equal(paths, want) {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	if got := listDir(t, dir); len(got) != 5 {
		t.Fatalf("directory holds %v", got)
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	checkContents(t, d, m, cols, 0, 23)
	if d.NTotal() != 23 || !slices.Equal(d.Paths(), want) {
		t.Errorf("NTotal %d paths %v", d.NTotal(), d.Paths())
	}
	sh := d.Shards()
	if sh[4].FirstIndex != 20 || sh[4].N != 3 || sh[2].Index != 2 {
		t.Errorf("shards %+v", sh)
	}
	npix := m.NX * m.NY * len(m.Bands)
	all, _ := d.ReadImages(0, 23, nil)
	var buf []float32
	for start := 0; start < 23; start++ {
		for n := 0; start+n <= 23; n += 3 {
			buf, err = d.ReadImages(start, n, buf)
			if err != nil {
				t.Fatal(err)
			}
			if !sameBits(buf, all[start*npix:(start+n)*npix]) {
				t.Fatalf("ReadImages(%d, %d) differs", start, n)
			}
		}
	}

	// A glob of the middle shards opens as a contiguous subset.
	g, err := Open(filepath.Join(dir, "train-00[123].fits"))
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, g, m, cols, 5, 15)
	g.Close()
	// One shard alone.
	s, err := Open(want[4])
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, s, m, cols, 20, 3)
	s.Close()
	// A gap in a glob is an error naming the file after the gap.
	_, err = Open(filepath.Join(dir, "train-00[02].fits"))
	wantErr(t, err, "train-002.fits", "FIRSTIDX = 10")
	// A missing shard under the base name is an error naming it.
	os.Remove(want[3])
	_, err = Open(path)
	wantErr(t, err, "found 4 of 5 shards", "train-003.fits")
}

// TestShardNames checks the naming rule, including wider numbers.
func TestShardNames(t *testing.T) {
	if got := ShardPaths("a/b.fits", 10, 10); !slices.Equal(got, []string{"a/b.fits"}) {
		t.Errorf("single: %v", got)
	}
	got := ShardPaths("a/b.fits", 2001, 2)
	if len(got) != 1001 || got[0] != "a/b-0000.fits" || got[1000] != "a/b-1000.fits" {
		t.Errorf("wide: %d names, %s ... %s", len(got), got[0], got[len(got)-1])
	}
	if got := ShardPaths("noext", 3, 2); !slices.Equal(got, []string{"noext-000", "noext-001"}) {
		t.Errorf("no extension: %v", got)
	}
}

func TestRefuseOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.fits")
	m, cols := testMeta(), testColumns()
	writeTestDataset(t, path, m, cols, 3, WriterOptions{})
	before, _ := os.ReadFile(path)

	_, err := Create(path, m, cols, 3, WriterOptions{})
	wantErr(t, err, "d.fits already exists", "Force")
	// Also when the new dataset would be sharded and only the single file exists.
	_, err = Create(path, m, cols, 30, WriterOptions{ShardSize: 10})
	wantErr(t, err, "d.fits already exists")
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("existing file modified by a refused Create")
	}

	// A shard of an earlier sharded dataset also blocks Create.
	other := filepath.Join(dir, "s.fits")
	writeTestDataset(t, other, m, cols, 6, WriterOptions{ShardSize: 2})
	_, err = Create(other, m, cols, 1, WriterOptions{})
	wantErr(t, err, "s-000.fits already exists")

	// Force replaces the sharded dataset by a single file and removes the old shards.
	writeTestDataset(t, other, m, cols, 2, WriterOptions{Force: true})
	if got := listDir(t, dir); !slices.Equal(got, []string{"d.fits", "s.fits"}) {
		t.Fatalf("after Force: %v", got)
	}
	d, err := Open(other)
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, d, m, cols, 0, 2)
	d.Close()
}

func TestCloseIncomplete(t *testing.T) {
	dir := t.TempDir()
	m, cols := testMeta(), testColumns()
	path := filepath.Join(dir, "part.fits")
	w, err := Create(path, m, cols, 7, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		img, vr, p := testLens(m, len(cols), i)
		if err := w.Write(img, vr, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := listDir(t, dir); len(got) != 1 || !strings.HasPrefix(got[0], ".part.fits.tmp-") {
		t.Fatalf("while writing, directory holds %v", got)
	}
	wantErr(t, w.Close(), "3 of 7 lenses")
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("after incomplete Close, directory holds %v", got)
	}
	if err := w.Write(nil, nil, nil); err == nil {
		t.Error("Write after Close accepted")
	}

	// Sharded: the completed first shard stays, the partial second is removed,
	// and opening the base name reports the missing shard.
	path = filepath.Join(dir, "sh.fits")
	w, err = Create(path, m, cols, 10, WriterOptions{ShardSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		img, vr, p := testLens(m, len(cols), i)
		if err := w.Write(img, vr, p); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, w.Close(), "7 of 10", "sh-000.fits")
	if got := listDir(t, dir); !slices.Equal(got, []string{"sh-000.fits"}) {
		t.Fatalf("after incomplete sharded Close: %v", got)
	}
	_, err = Open(path)
	wantErr(t, err, "found 1 of 2 shards", "sh-001.fits")
}

func TestWriteValidation(t *testing.T) {
	dir := t.TempDir()
	m, cols := testMeta(), testColumns()
	w, err := Create(filepath.Join(dir, "v.fits"), m, cols, 2, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img, vr, p := testLens(m, len(cols), 0)
	bad := func(f func(img, vr []float32, p []float64) ([]float32, []float32, []float64), frag ...string) {
		t.Helper()
		i2, v2, p2 := f(slices.Clone(img), slices.Clone(vr), slices.Clone(p))
		wantErr(t, w.Write(i2, v2, p2), frag...)
	}
	bad(func(i, v []float32, p []float64) ([]float32, []float32, []float64) { return i[1:], v, p }, "image values")
	bad(func(i, v []float32, p []float64) ([]float32, []float32, []float64) { return i, v[1:], p }, "variance values")
	bad(func(i, v []float32, p []float64) ([]float32, []float32, []float64) { return i, v, p[1:] }, "parameters")
	bad(func(i, v []float32, p []float64) ([]float32, []float32, []float64) {
		i[m.NX*m.NY+2*m.NX+5] = float32(math.NaN())
		return i, v, p
	}, "lens 0", "band r, y 2, x 5", "NaN")
	bad(func(i, v []float32, p []float64) ([]float32, []float32, []float64) { v[3] = -1; return i, v, p }, "variance pixel")
	bad(func(i, v []float32, p []float64) ([]float32, []float32, []float64) {
		p[2] = math.Inf(1)
		return i, v, p
	}, "column SIGMA_V is +Inf")
	bad(func(i, v []float32, p []float64) ([]float32, []float32, []float64) { p[4] = 2.5; return i, v, p }, "N_IMAGES (int32) cannot hold 2.5")
	// Rejected lenses leave the writer usable.
	for i := 0; i < 2; i++ {
		img, vr, p := testLens(m, len(cols), i)
		if err := w.Write(img, vr, p); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, w.Write(img, vr, p), "all 2 lenses already written")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(filepath.Join(dir, "v.fits"))
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, d, m, cols, 0, 2)
	d.Close()
}

func TestCreateRejects(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.fits")
	m, cols := testMeta(), testColumns()
	try := func(m Meta, cols []Column, n int, frag string) {
		t.Helper()
		_, err := Create(p, m, cols, n, WriterOptions{})
		wantErr(t, err, frag)
	}
	try(m, cols, 0, "must be positive")
	try(m, append(slices.Clone(cols), Column{Name: "index"}), 1, "INDEX is added by the writer")
	try(m, append(slices.Clone(cols), Column{Name: "theta_e"}), 1, "THETA_E listed twice")
	try(m, append(slices.Clone(cols), Column{Name: "1BAD"}), 1, "column 5 name")
	try(m, append(slices.Clone(cols), Column{Name: "X", Format: "E"}), 1, "format \"E\"")
	bad := testMeta()
	bad.Extra = append(bad.Extra, Card{Key: "NLENS", Value: 3})
	try(bad, cols, 1, "NLENS is reserved")
	bad = testMeta()
	bad.Extra = append(bad.Extra, Card{Key: "lower", Value: 3})
	try(bad, cols, 1, "keyword \"lower\"")
	bad = testMeta()
	bad.Bands = []string{"g", "g"}
	try(bad, cols, 1, "band \"g\" listed twice")
	bad = testMeta()
	bad.Bands = []string{"g,r"}
	try(bad, cols, 1, "band name \"g,r\"")
	bad = testMeta()
	bad.NX = 0
	try(bad, cols, 1, "NX=0")
	_, err := Create(filepath.Join(dir, "nodir", "x.fits"), m, cols, 1, WriterOptions{})
	wantErr(t, err, "does not exist")
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("rejected Create left %v", got)
	}
}

// TestOpenTruncated cuts bytes off a file at several places.
func TestOpenTruncated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.fits")
	writeTestDataset(t, path, testMeta(), testColumns(), 5, WriterOptions{})
	data, _ := os.ReadFile(path)
	hdus := fileHDUs(t, data)
	for _, size := range []int64{
		int64(len(data)) - 1,                 // last padding byte
		hdus[3].dataOff + 3,                  // inside the PARAMS data
		hdus[2].dataOff + hdus[2].dataSize/2, // inside VARIANCE
		hdus[1].headerOff + 100,              // inside the IMAGES header
	} {
		cut := filepath.Join(dir, fmt.Sprintf("cut%d.fits", size))
		if err := os.WriteFile(cut, data[:size], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(cut)
		wantErr(t, err, filepath.Base(cut), "truncated")
	}
	// Extra bytes after the last HDU are an error too.
	long := filepath.Join(dir, "long.fits")
	os.WriteFile(long, append(slices.Clone(data), make([]byte, blockSize)...), 0o644)
	_, err := Open(long)
	wantErr(t, err, "long.fits")
}

// TestOpenMissingHDU drops the VARIANCE HDU from a file.
func TestOpenMissingHDU(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "train.fits")
	writeTestDataset(t, path, testMeta(), testColumns(), 4, WriterOptions{ShardSize: 2})
	p1 := filepath.Join(dir, "train-001.fits")
	data, _ := os.ReadFile(p1)
	v := fileHDUs(t, data)[2]
	cut := append(slices.Clone(data[:v.headerOff]), data[v.end():]...)
	os.WriteFile(p1, cut, 0o644)
	_, err := Open(path)
	wantErr(t, err, "train-001.fits: missing HDU VARIANCE")
}

// TestOpenShapeMismatch swaps NAXIS1 and NAXIS2 of VARIANCE (same data size),
// and mixes shards of datasets with different image sizes.
func TestOpenShapeMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.fits")
	m := testMeta()
	writeTestDataset(t, path, m, testColumns(), 3, WriterOptions{})
	data, _ := os.ReadFile(path)
	v := fileHDUs(t, data)[2]
	patchCard(t, data, v, "NAXIS1", m.NY)
	patchCard(t, data, v, "NAXIS2", m.NX)
	os.WriteFile(path, data, 0o644)
	_, err := Open(path)
	wantErr(t, err, "a.fits: HDU VARIANCE has shape", "[6 8 4 3]", "[8 6 4 3]")

	// Shards from two datasets that differ in NX.
	b := filepath.Join(dir, "b.fits")
	c := filepath.Join(dir, "c.fits")
	writeTestDataset(t, b, m, testColumns(), 4, WriterOptions{ShardSize: 2})
	m2 := testMeta()
	m2.NX = 10
	writeTestDataset(t, c, m2, testColumns(), 4, WriterOptions{ShardSize: 2})
	if err := os.Rename(filepath.Join(dir, "c-001.fits"), filepath.Join(dir, "b-001.fits")); err != nil {
		t.Fatal(err)
	}
	_, err = Open(b)
	wantErr(t, err, "b-001.fits does not match", "NX 10 vs 8")

	// Different column lists.
	d := filepath.Join(dir, "d.fits")
	e := filepath.Join(dir, "e.fits")
	writeTestDataset(t, d, m, testColumns(), 4, WriterOptions{ShardSize: 2})
	writeTestDataset(t, e, m, testColumns()[:4], 4, WriterOptions{ShardSize: 2})
	os.Rename(filepath.Join(dir, "e-000.fits"), filepath.Join(dir, "d-000.fits"))
	_, err = Open(d)
	wantErr(t, err, "does not match", "columns")
}

// TestOpenNaNParam writes a NaN into PARAMS and expects file, column and row.
func TestOpenNaNParam(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "train.fits")
	writeTestDataset(t, path, testMeta(), testColumns(), 6, WriterOptions{ShardSize: 3})
	p1 := filepath.Join(dir, "train-001.fits")
	data, _ := os.ReadFile(p1)
	tbl := fileHDUs(t, data)[3]
	// Row 2, column Z_LENS (after INDEX and THETA_E: byte 16 of a 44-byte row).
	row := int(tbl.axes[0])
	binary.BigEndian.PutUint64(data[tbl.dataOff+int64(2*row+16):], math.Float64bits(math.NaN()))
	os.WriteFile(p1, data, 0o644)
	_, err := Open(path)
	wantErr(t, err, "train-001.fits", "column Z_LENS row 2 (lens 5) is NaN")
}

// TestOpenBadIndex makes INDEX disagree with FIRSTIDX.
func TestOpenBadIndex(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "i.fits")
	writeTestDataset(t, path, testMeta(), testColumns(), 3, WriterOptions{})
	data, _ := os.ReadFile(path)
	tbl := fileHDUs(t, data)[3]
	binary.BigEndian.PutUint64(data[tbl.dataOff+int64(tbl.axes[0]):], 7)
	os.WriteFile(path, data, 0o644)
	_, err := Open(path)
	wantErr(t, err, "i.fits", "row 1 has INDEX 7")
}

func TestRequiredColumns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.fits")
	cols := testColumns()
	cols = slices.Delete(cols, 3, 4) // drop Z_SOURCE
	m := testMeta()
	w, err := Create(path, m, cols, 2, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		img, vr, p := testLens(m, 5, i)
		p = slices.Delete(p, 3, 4)
		if err := w.Write(img, vr, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	wantErr(t, err, "r.fits", "no column Z_SOURCE")
	d, err := OpenWith(path, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err = OpenWith(path, OpenOptions{RequireColumns: []string{"theta_e", "magnification"}})
	wantErr(t, err, "no column MAGNIFICATION")
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(filepath.Join(dir, "none.fits"))
	wantErr(t, err, "none.fits: no such file", "none-NNN.fits")
	_, err = Open(filepath.Join(dir, "*.fits"))
	wantErr(t, err, "no files match")
	_, err = Open(dir)
	wantErr(t, err, "is a directory")
	junk := writeFile(t, dir, "junk.fits", bytes.Repeat([]byte("x"), 3000))
	_, err = Open(junk)
	wantErr(t, err, "junk.fits", "not a")
}

// TestReadAfterClose checks that Close stops reads and is idempotent.
func TestReadAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.fits")
	writeTestDataset(t, path, testMeta(), testColumns(), 2, WriterOptions{})
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadImages(0, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = d.ReadImages(0, 1, nil)
	wantErr(t, err, "after Close")
}

// TestDeterministicBytes writes the same dataset twice: with a fixed Date the
// files are byte-identical.
func TestDeterministicBytes(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.fits")
	b := filepath.Join(dir, "b.fits")
	writeTestDataset(t, a, testMeta(), testColumns(), 3, WriterOptions{})
	writeTestDataset(t, b, testMeta(), testColumns(), 3, WriterOptions{})
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Fatal("same input gave different files")
	}
	if len(da)%blockSize != 0 {
		t.Fatalf("file size %d is not whole blocks", len(da))
	}
}

func TestFirstBad(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		v      []float32
		nonNeg bool
		want   int
	}{
		{[]float32{1, 2, 3}, false, -1},
		{[]float32{1, -2, 3}, false, -1},
		{[]float32{1, -2, 3}, true, 1},
		{[]float32{0, negZero, math.MaxFloat32, math.SmallestNonzeroFloat32}, true, -1},
		{[]float32{0, 1, -inf}, false, 2},
		{[]float32{inf}, false, 0},
		{[]float32{1, float32(math.NaN())}, true, 1},
	} {
		if got := firstBad(c.v, c.nonNeg); got != c.want {
			t.Errorf("firstBad(%v, %v) = %d, want %d", c.v, c.nonNeg, got, c.want)
		}
	}
}

// TestFileMode checks that datasets get the permissions of an ordinary new
// file (os.CreateTemp would leave them at 0600).
func TestFileMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.fits")
	writeTestDataset(t, path, testMeta(), testColumns(), 1, WriterOptions{})
	ref := filepath.Join(dir, "ref")
	f, err := os.Create(ref)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	a, _ := os.Stat(path)
	b, _ := os.Stat(ref)
	if a.Mode().Perm() != b.Mode().Perm() {
		t.Errorf("dataset mode %v, ordinary file %v", a.Mode().Perm(), b.Mode().Perm())
	}
}

// TestConcurrentReads reads ranges from several goroutines (run with -race).
func TestConcurrentReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.fits")
	m := testMeta()
	writeTestDataset(t, path, m, testColumns(), 12, WriterOptions{ShardSize: 4})
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	npix := m.NX * m.NY * len(m.Bands)
	errs := make(chan error, 12)
	for g := 0; g < 12; g++ {
		go func() {
			img, err := d.ReadImages(g, 1, nil)
			if err == nil && img[npix-1] != float32(g) {
				err = fmt.Errorf("lens %d: marker %v", g, img[npix-1])
			}
			errs <- err
		}()
	}
	for g := 0; g < 12; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
