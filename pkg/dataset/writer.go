package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lenssbi/lenssbi/pkg/version"
)

// DefaultShardSize is the number of lenses per file when WriterOptions.ShardSize is zero.
const DefaultShardSize = 5000

// Units written to BUNIT. The FITS standard has no "electron" unit, so the
// images are in "count" (detected photo-electrons) per second.
const (
	ImageUnit    = "count/s"   // BUNIT of IMAGES: photo-electrons per second
	VarianceUnit = "count2/s2" // BUNIT of VARIANCE: (photo-electrons per second)^2
)

// WriterOptions tunes Create.
type WriterOptions struct {
	// ShardSize is the maximum number of lenses per file (DefaultShardSize when 0).
	ShardSize int
	// Force allows overwriting an existing dataset of the same name. After a
	// complete Close, files of the earlier dataset that the new one did not
	// replace (NAME.fits or NAME-NNN.fits) are removed, so that the name
	// always denotes a single dataset. A job's writer (Jobs > 1) only ever
	// touches its own files.
	Force bool
	// Job and Jobs, when Jobs > 1, write only the files of job Job
	// (0-based) of Jobs independent jobs (see SplitParts): byte for byte the
	// files a single writer of the whole dataset would write (same names,
	// headers and FIRSTIDX), so the jobs' outputs together are that dataset.
	Job, Jobs int
}

// Part is the share of a dataset's files written by one of Count parallel
// jobs: the files [FirstShard, EndShard) holding lenses [First, End).
type Part struct {
	Index, Count         int // job Index of Count, 0-based
	First, End           int // global indices of the job's lenses
	FirstShard, EndShard int // indices of the job's files among the dataset's
}

// SplitParts divides the files of a dataset of ntotal lenses written with
// shardSize lenses per file among count jobs: job j gets the files
// [j*K/count, (j+1)*K/count) of the K files, so the parts are disjoint,
// cover the dataset and differ in size by at most one file. It fails when
// there are fewer files than jobs (use a smaller shard size).
func SplitParts(ntotal, shardSize, count int) ([]Part, error) {
	if shardSize <= 0 {
		shardSize = DefaultShardSize
	}
	if ntotal <= 0 {
		return nil, fmt.Errorf("dataset: number of lenses %d must be positive", ntotal)
	}
	if count <= 0 {
		return nil, fmt.Errorf("dataset: number of jobs %d must be positive", count)
	}
	k := len(ShardPaths("x.fits", ntotal, shardSize))
	if count > k {
		return nil, fmt.Errorf("dataset: %d lenses at %d per file make %d file(s), too few for %d jobs (each job writes whole files; use a shard size <= %d)",
			ntotal, shardSize, k, count, (ntotal+count-1)/count)
	}
	parts := make([]Part, count)
	for j := range parts {
		f0, f1 := j*k/count, (j+1)*k/count
		parts[j] = Part{Index: j, Count: count, FirstShard: f0, EndShard: f1,
			First: f0 * shardSize, End: min(f1*shardSize, ntotal)}
	}
	return parts, nil
}

// Writer writes a dataset lens by lens. It is not safe for concurrent use.
type Writer struct {
	path    string
	meta    Meta
	cols    []Column // INDEX first
	ntotal  int
	shardSz int
	paths   []string // every file of the dataset
	part    Part     // the files and lenses this writer writes (all of them unless Jobs > 1)
	stale   []string // files of an earlier dataset to remove after a complete Close (Force)
	npix    int      // pixels per lens (all bands)
	rowSize int      // bytes per PARAMS row

	cur     *shardFile
	written int
	err     error // sticky I/O error
	closed  bool
	scratch []byte
}

// shardFile is the shard being written, under a temporary name.
type shardFile struct {
	f           *os.File
	tmp, final  string
	first, size int // global index of its first lens, number of lenses
	n           int // lenses written so far
	imgOff      int64
	varOff      int64
	tblOff      int64
	rows        []byte
}

// ShardPaths returns the file names a dataset of ntotal lenses written to path
// uses: path itself when ntotal <= shardSize, otherwise NAME-000.EXT,
// NAME-001.EXT, ... with at least three digits ("train.fits" ->
// "train-000.fits").
func ShardPaths(path string, ntotal, shardSize int) []string {
	if shardSize <= 0 {
		shardSize = DefaultShardSize
	}
	if ntotal <= shardSize {
		return []string{path}
	}
	n := (ntotal + shardSize - 1) / shardSize
	out := make([]string, n)
	for i := range out {
		out[i] = shardName(path, i, n)
	}
	return out
}

// shardName is the name of shard k of nshards: NAME-kkk.EXT, zero-padded to
// at least three digits and to the width of nshards-1.
func shardName(path string, k, nshards int) string {
	width := max(3, len(strconv.Itoa(nshards-1)))
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%0*d%s", strings.TrimSuffix(path, ext), width, k, ext)
}

// shardPattern matches the shard files of path: NAME-NNN.EXT.
func shardPattern(path string) (glob string, re *regexp.Regexp) {
	ext := filepath.Ext(path)
	stem := strings.TrimSuffix(path, ext)
	glob = escapeGlob(stem) + "-*" + escapeGlob(ext)
	re = regexp.MustCompile("^" + regexp.QuoteMeta(filepath.Base(stem)) + `-([0-9]{3,})` + regexp.QuoteMeta(ext) + "$")
	return glob, re
}

// escapeGlob escapes glob metacharacters in a literal path.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// existingShards lists the files matching NAME-NNN.EXT, in name order.
func existingShards(path string) ([]string, error) {
	glob, re := shardPattern(path)
	matches, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if re.MatchString(filepath.Base(m)) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Create starts writing a dataset of ntotal lenses to path. cols are the
// parameter columns (without INDEX, which Create adds as the first column).
// Create refuses to start when path or any shard file NAME-NNN.EXT of that
// name exists, unless opt.Force is set. Each file is written under a temporary
// name in the same directory and renamed when complete, so an interrupted run
// never leaves a partial file under a final name.
func Create(path string, meta Meta, cols []Column, ntotal int, opt WriterOptions) (*Writer, error) {
	if ntotal <= 0 {
		return nil, fmt.Errorf("dataset: creating %s: number of lenses %d must be positive", path, ntotal)
	}
	if opt.ShardSize < 0 {
		return nil, fmt.Errorf("dataset: creating %s: negative shard size %d", path, opt.ShardSize)
	}
	if opt.ShardSize == 0 {
		opt.ShardSize = DefaultShardSize
	}
	if meta.Version == "" {
		meta.Version = version.Version
	}
	if meta.Creator == "" {
		meta.Creator = "lenssbi"
	}
	if meta.Date.IsZero() {
		meta.Date = time.Now()
	}
	meta.Date = meta.Date.UTC().Truncate(time.Second)
	meta.Bands = append([]string(nil), meta.Bands...)
	meta.Extra = append([]Card(nil), meta.Extra...)
	if err := meta.validate(); err != nil {
		return nil, fmt.Errorf("dataset: creating %s: %w", path, err)
	}
	full, err := normalizeColumns(cols)
	if err != nil {
		return nil, fmt.Errorf("dataset: creating %s: %w", path, err)
	}
	// Build one primary header now so that bad extra keywords fail early.
	if _, err := primaryHeader(&meta, shardInfo{}); err != nil {
		return nil, fmt.Errorf("dataset: creating %s: %w", path, err)
	}
	if _, err := paramsHeader(full, 1); err != nil {
		return nil, fmt.Errorf("dataset: creating %s: %w", path, err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("dataset: creating %s: directory %s does not exist", path, filepath.Dir(path))
	}

	w := &Writer{
		path: path, meta: meta, cols: full, ntotal: ntotal, shardSz: opt.ShardSize,
		paths: ShardPaths(path, ntotal, opt.ShardSize),
		npix:  meta.NX * meta.NY * len(meta.Bands),
	}
	w.part = Part{Count: 1, First: 0, End: ntotal, FirstShard: 0, EndShard: len(w.paths)}
	if opt.Jobs > 1 {
		parts, err := SplitParts(ntotal, opt.ShardSize, opt.Jobs)
		if err != nil {
			return nil, fmt.Errorf("dataset: creating %s: %w", path, err)
		}
		if opt.Job < 0 || opt.Job >= opt.Jobs {
			return nil, fmt.Errorf("dataset: creating %s: job %d is outside 0..%d", path, opt.Job, opt.Jobs-1)
		}
		w.part = parts[opt.Job]
	}
	for _, c := range full {
		w.rowSize += formatSize(c.Format)
	}

	existing, err := existingShards(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: creating %s: %w", path, err)
	}
	if _, err := os.Lstat(path); err == nil {
		existing = append(existing, path)
	}
	planned := map[string]bool{}
	for _, p := range w.Paths() {
		planned[p] = true
	}
	if w.part.Count > 1 {
		// Other jobs' files are expected beside ours: only ours count.
		var own []string
		for _, p := range existing {
			if planned[p] {
				own = append(own, p)
			}
		}
		existing = own
	}
	if len(existing) > 0 && !opt.Force {
		return nil, fmt.Errorf("dataset: %s already exists (use Force to overwrite)", existing[0])
	}
	for _, p := range existing {
		if !planned[p] {
			w.stale = append(w.stale, p)
		}
	}
	return w, nil
}

// Paths returns the final file names this writer writes, in shard order:
// every file of the dataset, or a job's own files.
func (w *Writer) Paths() []string {
	return append([]string(nil), w.paths[w.part.FirstShard:w.part.EndShard]...)
}

// Columns returns the columns written, INDEX first.
func (w *Writer) Columns() []Column { return append([]Column(nil), w.cols...) }

// Written returns the number of lenses written so far.
func (w *Writer) Written() int { return w.written }

// Write appends one lens, in global index order (from the job's first lens
// when Jobs > 1). images and variance hold the
// lens band-major ([band][y][x], NBANDS*NY*NX values); params holds one value
// per column passed to Create (INDEX excluded). Pixels must be finite and
// variances non-negative; parameters must be finite (and integral for J/K
// columns). Invalid input returns an error and writes nothing, so the caller
// may retry; an I/O error is returned again by every later call.
func (w *Writer) Write(images, variance []float32, params []float64) error {
	if w.closed {
		return fmt.Errorf("dataset: %s: write after Close", w.path)
	}
	if w.err != nil {
		return w.err
	}
	idx := w.part.First + w.written
	if idx >= w.part.End {
		return fmt.Errorf("dataset: %s: all %d lenses already written", w.path, w.part.End-w.part.First)
	}
	if err := w.check(idx, images, variance, params); err != nil {
		return fmt.Errorf("dataset: %s: lens %d: %w", w.path, idx, err)
	}
	if w.cur == nil {
		if err := w.startShard(idx / w.shardSz); err != nil {
			return w.fail(err)
		}
	}
	s := w.cur
	j := int64(s.n)
	lensBytes := int64(4 * w.npix)
	if cap(w.scratch) < int(lensBytes) {
		w.scratch = make([]byte, lensBytes)
	}
	buf := w.scratch[:lensBytes]
	putFloat32s(buf, images)
	if _, err := s.f.WriteAt(buf, s.imgOff+j*lensBytes); err != nil {
		return w.fail(err)
	}
	putFloat32s(buf, variance)
	if _, err := s.f.WriteAt(buf, s.varOff+j*lensBytes); err != nil {
		return w.fail(err)
	}
	s.rows = appendRow(s.rows, w.cols, idx, params)
	s.n++
	w.written++
	if s.n == s.size {
		if err := w.finishShard(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

// check validates one lens before anything is written.
func (w *Writer) check(idx int, images, variance []float32, params []float64) error {
	if len(images) != w.npix {
		return fmt.Errorf("%d image values, want %d (%d bands x %d x %d)", len(images), w.npix, len(w.meta.Bands), w.meta.NY, w.meta.NX)
	}
	if len(variance) != w.npix {
		return fmt.Errorf("%d variance values, want %d", len(variance), w.npix)
	}
	if len(params) != len(w.cols)-1 {
		return fmt.Errorf("%d parameters, want %d (one per column)", len(params), len(w.cols)-1)
	}
	if i := firstBad(images, false); i >= 0 {
		return fmt.Errorf("image pixel %s is %v", w.pixelName(i), images[i])
	}
	if i := firstBad(variance, true); i >= 0 {
		return fmt.Errorf("variance pixel %s is %v (must be finite and >= 0)", w.pixelName(i), variance[i])
	}
	for i, v := range params {
		c := w.cols[i+1]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("column %s is %v", c.Name, v)
		}
		switch c.Format {
		case "J":
			if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
				return fmt.Errorf("column %s (int32) cannot hold %v", c.Name, v)
			}
		case "K":
			if v != math.Trunc(v) || v < -(1<<63) || v >= 1<<63 {
				return fmt.Errorf("column %s (int64) cannot hold %v", c.Name, v)
			}
		}
	}
	return nil
}

// firstBad returns the index of the first NaN or infinite value (or negative
// one, when nonNegative is set), or -1. It tests the exponent bits, which is
// several times faster than math.IsNaN and math.IsInf on float32 data.
func firstBad(v []float32, nonNegative bool) int {
	const exp = 0x7f800000
	for i, x := range v {
		if math.Float32bits(x)&exp == exp || (nonNegative && x < 0) {
			return i
		}
	}
	return -1
}

// pixelName renders a flat band-major pixel index as band/y/x.
func (w *Writer) pixelName(i int) string {
	plane := w.meta.NX * w.meta.NY
	b, r := i/plane, i%plane
	return fmt.Sprintf("(band %s, y %d, x %d)", w.meta.Bands[b], r/w.meta.NX, r%w.meta.NX)
}

// appendRow encodes one PARAMS row.
func appendRow(dst []byte, cols []Column, idx int, params []float64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(int64(idx)))
	for i, v := range params {
		switch cols[i+1].Format {
		case "J":
			dst = binary.BigEndian.AppendUint32(dst, uint32(int32(v)))
		case "K":
			dst = binary.BigEndian.AppendUint64(dst, uint64(int64(v)))
		default:
			dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
		}
	}
	return dst
}

// fail records an I/O error, drops the temporary file and makes the error sticky.
func (w *Writer) fail(err error) error {
	w.abortShard()
	w.err = fmt.Errorf("dataset: writing %s: %w", w.path, err)
	return w.err
}

// imageHeader builds the IMAGES or VARIANCE extension header.
func imageHeader(name, unit, unitComment string, m *Meta, nlens int) (*header, error) {
	h := newHeader()
	err := h.addAll([]card{
		{key: "XTENSION", value: "IMAGE", comment: "image extension"},
		{key: "BITPIX", value: -32, comment: "IEEE single precision"},
		{key: "NAXIS", value: 4, comment: "x, y, band, lens"},
		{key: "NAXIS1", value: m.NX, comment: "image width (x)"},
		{key: "NAXIS2", value: m.NY, comment: "image height (y)"},
		{key: "NAXIS3", value: len(m.Bands), comment: "band"},
		{key: "NAXIS4", value: nlens, comment: "lens"},
		{key: "PCOUNT", value: 0, comment: "no parameters"},
		{key: "GCOUNT", value: 1, comment: "one group"},
		{key: "EXTNAME", value: name},
		{key: "BUNIT", value: unit, comment: unitComment},
		{key: "BANDS", value: strings.Join(m.Bands, ","), comment: "bands along axis 3"},
	})
	return h, err
}

// paramsHeader builds the PARAMS binary-table header.
func paramsHeader(cols []Column, nlens int) (*header, error) {
	return tableHeader("PARAMS", "lens parameters, one row per lens", cols, nlens)
}

// tableHeader builds a binary-table header named name with nrows rows.
func tableHeader(name, comment string, cols []Column, nrows int) (*header, error) {
	row := 0
	for _, c := range cols {
		row += formatSize(c.Format)
	}
	h := newHeader()
	err := h.addAll([]card{
		{key: "XTENSION", value: "BINTABLE", comment: "binary table extension"},
		{key: "BITPIX", value: 8, comment: "bytes"},
		{key: "NAXIS", value: 2, comment: "row, column"},
		{key: "NAXIS1", value: row, comment: "bytes per row"},
		{key: "NAXIS2", value: nrows, comment: "rows"},
		{key: "PCOUNT", value: 0, comment: "no heap"},
		{key: "GCOUNT", value: 1, comment: "one group"},
		{key: "TFIELDS", value: len(cols), comment: "number of columns"},
	})
	if err != nil {
		return nil, err
	}
	for i, c := range cols {
		n := i + 1
		cards := []card{
			{key: fmt.Sprintf("TTYPE%d", n), value: c.Name, comment: c.Description},
			{key: fmt.Sprintf("TFORM%d", n), value: c.Format},
		}
		if c.Unit != "" {
			cards = append(cards, card{key: fmt.Sprintf("TUNIT%d", n), value: c.Unit})
		}
		if c.Description != "" {
			cards = append(cards, card{key: fmt.Sprintf("TCOMM%d", n), value: c.Description})
		}
		if err := h.addAll(cards); err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	if err := h.add("EXTNAME", name, comment); err != nil {
		return nil, err
	}
	return h, nil
}

// startShard creates the temporary file of shard k and writes its headers.
func (w *Writer) startShard(k int) error {
	first := k * w.shardSz
	size := min(w.shardSz, w.ntotal-first)
	final := w.paths[k]
	info := shardInfo{nlens: size, ntotal: w.ntotal, shard: k, nshards: len(w.paths), first: first}
	ph, err := primaryHeader(&w.meta, info)
	if err != nil {
		return fmt.Errorf("%s: %w", final, err)
	}
	ih, err := imageHeader("IMAGES", ImageUnit, "photo-electrons per second", &w.meta, size)
	if err != nil {
		return fmt.Errorf("%s: %w", final, err)
	}
	vh, err := imageHeader("VARIANCE", VarianceUnit, "variance of IMAGES", &w.meta, size)
	if err != nil {
		return fmt.Errorf("%s: %w", final, err)
	}
	th, err := paramsHeader(w.cols, size)
	if err != nil {
		return fmt.Errorf("%s: %w", final, err)
	}
	f, err := createTemp(final)
	if err != nil {
		return fmt.Errorf("creating temporary file for %s: %w", final, err)
	}
	s := &shardFile{f: f, tmp: f.Name(), final: final, first: first, size: size}
	w.cur = s
	cube := int64(size) * int64(4*w.npix)
	off := int64(0)
	for _, part := range []struct {
		h    *header
		data int64
		at   *int64
	}{{ph, 0, nil}, {ih, cube, &s.imgOff}, {vh, cube, &s.varOff}, {th, int64(size * w.rowSize), &s.tblOff}} {
		b, err := part.h.encode()
		if err != nil {
			return fmt.Errorf("%s: %w", final, err)
		}
		if _, err := f.WriteAt(b, off); err != nil {
			return fmt.Errorf("writing %s: %w", s.tmp, err)
		}
		off += int64(len(b))
		if part.at != nil {
			*part.at = off
		}
		if pad := padTo(part.data) - part.data; pad > 0 {
			if _, err := f.WriteAt(make([]byte, pad), off+part.data); err != nil {
				return fmt.Errorf("writing %s: %w", s.tmp, err)
			}
		}
		off += padTo(part.data)
	}
	s.rows = make([]byte, 0, size*w.rowSize)
	return nil
}

// tempCounter makes temporary names unique within the process.
var tempCounter atomic.Uint64

// createTemp creates .NAME.tmp-PID-N next to final. Unlike os.CreateTemp
// (mode 0600) it uses mode 0666 less the umask, so the renamed file gets the
// permissions of any file the user creates.
func createTemp(final string) (*os.File, error) {
	dir, base := filepath.Split(final)
	for {
		name := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d-%d", base, os.Getpid(), tempCounter.Add(1)))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue // left by an earlier process with the same pid
		}
		return f, err
	}
}

// finishShard writes the PARAMS rows, syncs, closes and renames the shard.
func (w *Writer) finishShard() error {
	s := w.cur
	if _, err := s.f.WriteAt(s.rows, s.tblOff); err != nil {
		return fmt.Errorf("writing %s: %w", s.tmp, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", s.tmp, err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", s.tmp, err)
	}
	s.f = nil
	if err := os.Rename(s.tmp, s.final); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", s.tmp, s.final, err)
	}
	w.cur = nil
	return nil
}

// abortShard closes and removes the temporary file of the current shard.
func (w *Writer) abortShard() {
	if w.cur == nil {
		return
	}
	if w.cur.f != nil {
		w.cur.f.Close()
	}
	os.Remove(w.cur.tmp)
	w.cur = nil
}

// Close finishes the dataset. It returns an error when fewer than ntotal
// lenses were written; the partial shard's temporary file is then removed
// (shards completed earlier stay under their final names). With Force, a
// complete Close removes the files of an earlier dataset of the same name
// that were not overwritten. Close is idempotent.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.err != nil {
		w.abortShard()
		return w.err
	}
	if want := w.part.End - w.part.First; w.written < want {
		partial := ""
		if w.cur != nil {
			partial = fmt.Sprintf("; partial %s removed", w.cur.final)
		}
		w.abortShard()
		done := (w.part.First+w.written)/w.shardSz - w.part.FirstShard
		kept := ""
		if done > 0 {
			kept = fmt.Sprintf("; complete shards kept: %s", strings.Join(w.Paths()[:done], ", "))
		}
		return fmt.Errorf("dataset: %s closed after %d of %d lenses%s%s", w.path, w.written, want, partial, kept)
	}
	var errs []error
	for _, p := range w.stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("dataset: removing stale %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
