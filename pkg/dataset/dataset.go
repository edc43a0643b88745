package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/astrogo/fitsio"
)

// DefaultRequiredColumns are the PARAMS columns Open insists on: the
// parameters every lenssbi posterior is trained for.
var DefaultRequiredColumns = []string{"THETA_E", "Z_LENS", "SIGMA_V", "Z_SOURCE"}

// OpenOptions tunes OpenWith. The zero value checks the format only.
type OpenOptions struct {
	// RequireColumns lists PARAMS columns that must be present (case-insensitive).
	RequireColumns []string
}

// Shard describes one file of a dataset.
type Shard struct {
	Path       string // file name
	Index      int    // SHARD keyword: position among the dataset's shards
	FirstIndex int    // FIRSTIDX: global index of the file's first lens
	N          int    // NLENS: lenses in the file
}

// Dataset is a read-only view of one or more dataset files. Lens i of the
// Dataset is the i-th lens in FIRSTIDX order (its global index is in the INDEX
// column). Headers and PARAMS tables are read and validated by Open; image
// data is read on demand, so memory stays bounded by what the caller asks
// for. Reading methods are safe for concurrent use; reads after Close fail.
type Dataset struct {
	meta   Meta
	cols   []Column
	shards []*shardData
	starts []int // local index of each shard's first lens
	n      int
	npix   int // pixels per lens, all bands

	mu     sync.Mutex
	closed bool
}

// shardData is one validated file; f is opened on first image access.
type shardData struct {
	path   string
	size   int64
	info   shardInfo
	imgOff int64
	varOff int64
	params [][]float64 // per column, INDEX first
	f      *os.File
}

// Open opens a dataset and validates it with DefaultRequiredColumns. path may
// name a single file, a sharded base name ("train.fits" when train-000.fits,
// train-001.fits, ... exist; all NSHARDS shards must be present), or a glob
// pattern (any contiguous run of shards).
func Open(path string) (*Dataset, error) {
	return OpenWith(path, OpenOptions{RequireColumns: DefaultRequiredColumns})
}

// OpenWith is Open with explicit options. Every file is checked: the IMAGES,
// VARIANCE and PARAMS HDUs are present with consistent shapes, the file is not
// truncated, the provenance and columns agree between files, FIRSTIDX values
// are contiguous, INDEX matches FIRSTIDX, the required columns exist and no
// parameter is NaN or infinite.
func OpenWith(path string, opt OpenOptions) (*Dataset, error) {
	paths, byBase, err := resolvePaths(path)
	if err != nil {
		return nil, err
	}
	d := &Dataset{}
	var firstMeta Meta
	for i, p := range paths {
		s, m, cols, err := openShard(p)
		if err != nil {
			return nil, fmt.Errorf("dataset: %w", err)
		}
		if i == 0 {
			firstMeta, d.cols = m, cols
		} else {
			if diff := sameMeta(&firstMeta, &m); diff != "" {
				return nil, fmt.Errorf("dataset: %s does not match %s: %s", p, paths[0], diff)
			}
			if diff := sameColumns(d.cols, cols); diff != "" {
				return nil, fmt.Errorf("dataset: %s does not match %s: %s", p, paths[0], diff)
			}
			if s0 := d.shards[0].info; s.info.ntotal != s0.ntotal || s.info.nshards != s0.nshards {
				return nil, fmt.Errorf("dataset: %s (NTOTAL %d, NSHARDS %d) is not from the same dataset as %s (NTOTAL %d, NSHARDS %d)",
					p, s.info.ntotal, s.info.nshards, paths[0], s0.ntotal, s0.nshards)
			}
		}
		d.shards = append(d.shards, s)
	}
	sort.SliceStable(d.shards, func(i, j int) bool { return d.shards[i].info.first < d.shards[j].info.first })
	if byBase {
		if err := checkComplete(path, d.shards); err != nil {
			return nil, err
		}
	}
	for i, s := range d.shards {
		if i > 0 {
			prev := d.shards[i-1]
			if end := prev.info.first + prev.info.nlens; s.info.first != end {
				return nil, fmt.Errorf("dataset: %s: FIRSTIDX = %d, but the previous shard %s ends at lens %d (missing or overlapping shard)",
					s.path, s.info.first, prev.path, end)
			}
		}
		d.starts = append(d.starts, d.n)
		d.n += s.info.nlens
	}
	for _, want := range opt.RequireColumns {
		if d.colIndex(want) < 0 {
			return nil, fmt.Errorf("dataset: %s: PARAMS has no column %s (columns: %s)", d.shards[0].path, strings.ToUpper(want), strings.Join(columnNames(d.cols), ", "))
		}
	}
	d.meta = firstMeta
	d.npix = d.meta.NX * d.meta.NY * len(d.meta.Bands)
	return d, nil
}

// resolvePaths turns Open's argument into a list of files.
func resolvePaths(path string) (paths []string, byBase bool, err error) {
	if strings.ContainsAny(path, "*?[") {
		matches, err := filepath.Glob(path)
		if err != nil {
			return nil, false, fmt.Errorf("dataset: bad pattern %q: %w", path, err)
		}
		for _, m := range matches {
			if !strings.HasPrefix(filepath.Base(m), ".") { // skip temporary files of running writers
				paths = append(paths, m)
			}
		}
		if len(paths) == 0 {
			return nil, false, fmt.Errorf("dataset: no files match %s", path)
		}
		return paths, false, nil
	}
	fi, err := os.Stat(path)
	if err == nil {
		if fi.IsDir() {
			return nil, false, fmt.Errorf("dataset: %s is a directory; give a file, a base name or a pattern", path)
		}
		return []string{path}, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("dataset: %w", err)
	}
	shards, gerr := existingShards(path)
	if gerr != nil {
		return nil, false, fmt.Errorf("dataset: %s: %w", path, gerr)
	}
	if len(shards) == 0 {
		ext := filepath.Ext(path)
		return nil, false, fmt.Errorf("dataset: %s: no such file, and no shards %s-NNN%s", path, strings.TrimSuffix(path, ext), ext)
	}
	return shards, true, nil
}

// checkComplete verifies that a base name resolved to the whole dataset.
func checkComplete(path string, shards []*shardData) error {
	info := shards[0].info
	_, re := shardPattern(path)
	have := map[int]bool{}
	for _, s := range shards {
		m := re.FindStringSubmatch(filepath.Base(s.path))
		if m == nil {
			continue
		}
		k, _ := strconv.Atoi(m[1])
		if k != s.info.shard {
			return fmt.Errorf("dataset: %s holds SHARD = %d; the file was renamed or belongs elsewhere", s.path, s.info.shard)
		}
		have[k] = true
	}
	var missing []string
	for k := 0; k < info.nshards; k++ {
		if !have[k] {
			missing = append(missing, shardName(path, k, info.nshards))
		}
	}
	if len(missing) > 0 || len(shards) != info.nshards {
		return fmt.Errorf("dataset: %s: found %d of %d shards (missing %s)", path, len(shards), info.nshards, strings.Join(missing, ", "))
	}
	last := shards[len(shards)-1].info
	if last.first+last.nlens != info.ntotal {
		return fmt.Errorf("dataset: %s: shards hold %d lenses, but NTOTAL = %d", path, last.first+last.nlens, info.ntotal)
	}
	return nil
}

// openShard reads and validates the headers and PARAMS table of one file.
func openShard(path string) (*shardData, Meta, []Column, error) {
	var m Meta
	f, err := os.Open(path)
	if err != nil {
		return nil, m, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, m, nil, err
	}
	hdus, err := scanHDUs(f, fi.Size(), true)
	if err != nil {
		return nil, m, nil, fmt.Errorf("%s: %w", path, err)
	}
	byName := map[string]*hdu{}
	for _, u := range hdus[1:] {
		if _, dup := byName[u.name]; !dup && u.name != "" {
			byName[u.name] = u
		}
	}
	for _, name := range []string{"IMAGES", "VARIANCE", "PARAMS"} {
		if byName[name] == nil {
			return nil, m, nil, fmt.Errorf("%s: missing HDU %s", path, name)
		}
	}
	m, info, err := parsePrimary(hdus[0].hdr)
	if err != nil {
		return nil, m, nil, fmt.Errorf("%s: primary header: %w", path, err)
	}
	if info.nlens <= 0 || info.nshards <= 0 || info.shard >= info.nshards || info.first+info.nlens > info.ntotal {
		return nil, m, nil, fmt.Errorf("%s: inconsistent shard keywords NLENS=%d NTOTAL=%d SHARD=%d NSHARDS=%d FIRSTIDX=%d",
			path, info.nlens, info.ntotal, info.shard, info.nshards, info.first)
	}
	want := []int64{int64(m.NX), int64(m.NY), int64(len(m.Bands)), int64(info.nlens)}
	for _, name := range []string{"IMAGES", "VARIANCE"} {
		u := byName[name]
		if u.xtension != "IMAGE" || u.bitpix != -32 {
			return nil, m, nil, fmt.Errorf("%s: HDU %s is %q with BITPIX %d, want an IMAGE extension with BITPIX -32", path, name, u.xtension, u.bitpix)
		}
		if fmt.Sprint(u.axes) != fmt.Sprint(want) {
			return nil, m, nil, fmt.Errorf("%s: HDU %s has shape (NAXIS1..n) %v, want %v from the primary header (NX, NY, NBANDS, NLENS)", path, name, u.axes, want)
		}
	}
	tu := byName["PARAMS"]
	if tu.xtension != "BINTABLE" || len(tu.axes) != 2 {
		return nil, m, nil, fmt.Errorf("%s: HDU PARAMS is not a binary table", path)
	}
	if tu.axes[1] != int64(info.nlens) {
		return nil, m, nil, fmt.Errorf("%s: PARAMS has %d rows, but NLENS = %d", path, tu.axes[1], info.nlens)
	}
	cols, err := parseColumns(tu)
	if err != nil {
		return nil, m, nil, fmt.Errorf("%s: PARAMS: %w", path, err)
	}
	params, err := decodeTable(f, tu, cols)
	if err != nil {
		return nil, m, nil, fmt.Errorf("%s: PARAMS: %w", path, err)
	}
	for c, vals := range params {
		for r, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, m, nil, fmt.Errorf("%s: PARAMS column %s row %d (lens %d) is %v", path, cols[c].Name, r, info.first+r, v)
			}
		}
	}
	if cols[0].Name != "INDEX" {
		return nil, m, nil, fmt.Errorf("%s: PARAMS: first column is %s, want INDEX", path, cols[0].Name)
	}
	for r, v := range params[0] {
		if v != float64(info.first+r) {
			return nil, m, nil, fmt.Errorf("%s: PARAMS row %d has INDEX %v, want FIRSTIDX+row = %d", path, r, v, info.first+r)
		}
	}
	s := &shardData{path: path, size: fi.Size(), info: info,
		imgOff: byName["IMAGES"].dataOff, varOff: byName["VARIANCE"].dataOff, params: params}
	return s, m, cols, nil
}

// parseColumns reads the column descriptions from a PARAMS header.
func parseColumns(u *hdu) ([]Column, error) {
	n, err := u.hdr.int("TFIELDS")
	if err != nil {
		return nil, err
	}
	if n <= 0 || n > 999 {
		return nil, fmt.Errorf("TFIELDS = %d", n)
	}
	cols := make([]Column, n)
	row := 0
	for i := range cols {
		k := i + 1
		name, err := u.hdr.str(fmt.Sprintf("TTYPE%d", k))
		if err != nil {
			return nil, err
		}
		form, err := u.hdr.str(fmt.Sprintf("TFORM%d", k))
		if err != nil {
			return nil, err
		}
		form = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(form)), "1")
		switch form {
		case "D", "J", "K":
		default:
			return nil, fmt.Errorf("column %s has TFORM %q; datasets use D, J or K", name, form)
		}
		unit, _ := u.hdr.str(fmt.Sprintf("TUNIT%d", k))
		desc, _ := u.hdr.str(fmt.Sprintf("TCOMM%d", k))
		cols[i] = Column{Name: strings.ToUpper(strings.TrimSpace(name)), Unit: unit, Description: desc, Format: form}
		row += formatSize(form)
	}
	if int64(row) != u.axes[0] {
		return nil, fmt.Errorf("columns take %d bytes per row, but NAXIS1 = %d", row, u.axes[0])
	}
	return cols, nil
}

// decodeTable reads the PARAMS table with astrogo/fitsio, given only the bytes
// of that HDU, and returns the columns as float64.
func decodeTable(r io.ReaderAt, u *hdu, cols []Column) (out [][]float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("fitsio failed to decode the table: %v", p)
		}
	}()
	sec := io.NewSectionReader(r, u.headerOff, u.end()-u.headerOff)
	ff, err := fitsio.Open(sec)
	if err != nil {
		return nil, fmt.Errorf("fitsio: %w", err)
	}
	defer ff.Close()
	if len(ff.HDUs()) != 1 {
		return nil, fmt.Errorf("fitsio found %d HDUs in the table's bytes, want 1", len(ff.HDUs()))
	}
	tbl, ok := ff.HDU(0).(*fitsio.Table)
	if !ok {
		return nil, fmt.Errorf("fitsio did not decode a table")
	}
	if tbl.NumCols() != len(cols) {
		return nil, fmt.Errorf("fitsio sees %d columns, header has %d", tbl.NumCols(), len(cols))
	}
	nrows := int(tbl.NumRows())
	out = make([][]float64, len(cols))
	ptrs := make([]any, len(cols))
	var f64 = make([]float64, len(cols))
	var i32 = make([]int32, len(cols))
	var i64 = make([]int64, len(cols))
	for c, col := range cols {
		out[c] = make([]float64, 0, nrows)
		switch col.Format {
		case "J":
			ptrs[c] = &i32[c]
		case "K":
			ptrs[c] = &i64[c]
		default:
			ptrs[c] = &f64[c]
		}
	}
	rows, err := tbl.Read(0, int64(nrows))
	if err != nil {
		return nil, fmt.Errorf("fitsio: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("fitsio: row %d: %w", len(out[0]), err)
		}
		for c, col := range cols {
			var v float64
			switch col.Format {
			case "J":
				v = float64(i32[c])
			case "K":
				v = float64(i64[c])
			default:
				v = f64[c]
			}
			out[c] = append(out[c], v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fitsio: %w", err)
	}
	if len(out[0]) != nrows {
		return nil, fmt.Errorf("fitsio returned %d rows, want %d", len(out[0]), nrows)
	}
	return out, nil
}

// sameColumns reports the first difference between two column lists.
func sameColumns(a, b []Column) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d columns (%s) vs %d (%s)", len(b), strings.Join(columnNames(b), ","), len(a), strings.Join(columnNames(a), ","))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Sprintf("column %d is %+v vs %+v", i+1, b[i], a[i])
		}
	}
	return ""
}

func columnNames(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// Len returns the number of lenses.
func (d *Dataset) Len() int { return d.n }

// Meta returns the provenance of the dataset (from its first file).
func (d *Dataset) Meta() Meta {
	m := d.meta
	m.Bands = append([]string(nil), m.Bands...)
	m.Extra = append([]Card(nil), m.Extra...)
	return m
}

// Geometry returns the image width and height in pixels and the bands: the
// shape that consumers not tied to FITS (npe's training sources) need.
func (d *Dataset) Geometry() (nx, ny int, bands []string) {
	m := d.Meta()
	return m.NX, m.NY, m.Bands
}

// NTotal returns the NTOTAL keyword: the size of the whole dataset, which
// exceeds Len when only some shards were opened.
func (d *Dataset) NTotal() int { return d.shards[0].info.ntotal }

// Columns returns the PARAMS columns, INDEX first.
func (d *Dataset) Columns() []Column { return append([]Column(nil), d.cols...) }

// Paths returns the files, in lens order.
func (d *Dataset) Paths() []string {
	out := make([]string, len(d.shards))
	for i, s := range d.shards {
		out[i] = s.path
	}
	return out
}

// Shards describes the files, in lens order.
func (d *Dataset) Shards() []Shard {
	out := make([]Shard, len(d.shards))
	for i, s := range d.shards {
		out[i] = Shard{Path: s.path, Index: s.info.shard, FirstIndex: s.info.first, N: s.info.nlens}
	}
	return out
}

// colIndex finds a column by case-insensitive name, or -1.
func (d *Dataset) colIndex(name string) int {
	name = strings.ToUpper(strings.TrimSpace(name))
	for i, c := range d.cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Column returns a whole PARAMS column (case-insensitive name) across all files.
func (d *Dataset) Column(name string) ([]float64, error) {
	c := d.colIndex(name)
	if c < 0 {
		return nil, fmt.Errorf("dataset: no column %s (columns: %s)", strings.ToUpper(name), strings.Join(columnNames(d.cols), ", "))
	}
	out := make([]float64, 0, d.n)
	for _, s := range d.shards {
		out = append(out, s.params[c]...)
	}
	return out, nil
}

// ReadParams returns the named columns for lenses [start, start+n), row-major
// (n rows of len(names) values), reusing dst when it is large enough.
func (d *Dataset) ReadParams(start, n int, names []string, dst []float64) ([]float64, error) {
	if err := d.checkRange(start, n); err != nil {
		return nil, err
	}
	idx := make([]int, len(names))
	for j, name := range names {
		if idx[j] = d.colIndex(name); idx[j] < 0 {
			return nil, fmt.Errorf("dataset: no column %s (columns: %s)", strings.ToUpper(name), strings.Join(columnNames(d.cols), ", "))
		}
	}
	need := n * len(names)
	if cap(dst) < need {
		dst = make([]float64, need)
	}
	dst = dst[:need]
	for i := 0; i < n; i++ {
		k, local := d.locate(start + i)
		for j, c := range idx {
			dst[i*len(names)+j] = d.shards[k].params[c][local]
		}
	}
	return dst, nil
}

// ReadImages returns the images of lenses [start, start+n): n*NBANDS*NY*NX
// values, lens after lens, each band-major ([band][y][x]). It reuses dst when
// its capacity suffices and reads only the files holding those lenses.
func (d *Dataset) ReadImages(start, n int, dst []float32) ([]float32, error) {
	return d.readCube(start, n, dst, false)
}

// ReadVariance is ReadImages for the VARIANCE cube.
func (d *Dataset) ReadVariance(start, n int, dst []float32) ([]float32, error) {
	return d.readCube(start, n, dst, true)
}

func (d *Dataset) checkRange(start, n int) error {
	if start < 0 || n < 0 || start > d.n-n {
		return fmt.Errorf("dataset: lenses [%d, %d) out of range [0, %d)", start, start+n, d.n)
	}
	return nil
}

// locate maps a dataset lens index to (shard, index within the shard).
func (d *Dataset) locate(i int) (int, int) {
	k := sort.SearchInts(d.starts, i+1) - 1
	return k, i - d.starts[k]
}

// chunkPool holds read buffers (a multiple of 4 bytes).
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func (d *Dataset) readCube(start, n int, dst []float32, variance bool) ([]float32, error) {
	if err := d.checkRange(start, n); err != nil {
		return nil, err
	}
	need := n * d.npix
	if cap(dst) < need {
		dst = make([]float32, need)
	}
	dst = dst[:need]
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	buf := *bp
	lensBytes := int64(4 * d.npix)
	out := dst
	for pos := start; pos < start+n; {
		k, local := d.locate(pos)
		s := d.shards[k]
		cnt := min(start+n-pos, s.info.nlens-local)
		f, err := d.file(s)
		if err != nil {
			return nil, err
		}
		off := s.imgOff
		if variance {
			off = s.varOff
		}
		off += int64(local) * lensBytes
		vals := out[:cnt*d.npix]
		for len(vals) > 0 {
			m := min(len(vals), len(buf)/4)
			b := buf[:4*m]
			if _, err := f.ReadAt(b, off); err != nil {
				return nil, fmt.Errorf("dataset: reading %s at byte %d: %w", s.path, off, err)
			}
			getFloat32s(vals[:m], b)
			vals = vals[m:]
			off += int64(4 * m)
		}
		out = out[cnt*d.npix:]
		pos += cnt
	}
	return dst, nil
}

// file returns the open file of a shard, opening it on first use.
func (d *Dataset) file(s *shardData) (*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("dataset: read after Close")
	}
	if s.f != nil {
		return s.f, nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if fi.Size() != s.size {
		f.Close()
		return nil, fmt.Errorf("dataset: %s changed since Open (%d bytes, was %d)", s.path, fi.Size(), s.size)
	}
	s.f = f
	return f, nil
}

// Close closes the files opened for reading.
func (d *Dataset) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, s := range d.shards {
		if s.f != nil {
			if err := s.f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("dataset: closing %s: %w", s.path, err))
			}
			s.f = nil
		}
	}
	return errors.Join(errs...)
}
