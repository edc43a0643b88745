package dataset

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Cutout is a multi-band image of one real object, ready for the same
// preprocessing as simulated lenses.
type Cutout struct {
	Bands    []string    // band names, in the order asked for
	NX, NY   int         // image width and height in pixels
	Images   [][]float32 // per band, NY*NX values, row-major ([y][x]), in the file's units
	Variance [][]float32 // per band, like Images; nil when the files carry no variance or weight
	// Header holds the keywords of the first file's primary HDU and image HDU
	// (the image HDU wins on clashes): string values unquoted, others as written.
	Header map[string]string
	// Headers holds those keywords per band (the file each band came from;
	// for a cube, the cube's for every band).
	Headers []map[string]string
	// Paths names, per band, the file the band was read from.
	Paths []string
	// NonFinite counts NaN or infinite image pixels per band (always zero
	// unless CutoutOptions.AllowNonFinite is set).
	NonFinite []int
}

// CutoutOptions tunes ReadCutoutWith.
type CutoutOptions struct {
	// AllowNonFinite keeps NaN or infinite image pixels (counted in
	// Cutout.NonFinite) instead of failing. Leave it off unless the next step
	// masks or inpaints them: the networks cannot digest NaN.
	AllowNonFinite bool
}

// ReadCutout reads a real cutout with CutoutOptions{}: any NaN or infinite
// image pixel is an error.
//
// paths is either one file per band (len(paths) == len(bands)) or a single
// file. A per-band file holds a 2-D image in the primary HDU or the first
// image extension; its band comes from the FILTER or BAND keyword (for
// example FILTER = 'g DECam SDSS c0001 4720.0 1520.0' is band g), or, when no
// file has such a keyword, from the order of paths. A single file is either a
// cube (NAXIS3 = band; band names from BANDS, e.g. 'griz' or 'g,r,i,z', or
// BAND0, BAND1, ...; without names its NAXIS3 must equal len(bands)) or, for
// one band, a 2-D image. An extension named VARIANCE or VAR is read as
// variance; one named INVVAR, IVAR, WEIGHT or WHT as inverse variance
// (variance = 1/w; w = 0, meaning no data, becomes +Inf). Integer images are
// scaled by BSCALE/BZERO, and BLANK pixels become NaN. Tile-compressed (fpack)
// images are not supported: funpack them first.
func ReadCutout(paths []string, bands []string) (*Cutout, error) {
	return ReadCutoutWith(paths, bands, CutoutOptions{})
}

// ReadCutoutWith is ReadCutout with options.
func ReadCutoutWith(paths []string, bands []string, opt CutoutOptions) (*Cutout, error) {
	if len(bands) == 0 {
		return nil, fmt.Errorf("dataset: cutout: no bands asked for")
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("dataset: cutout: no files given")
	}
	seen := map[string]bool{}
	for _, b := range bands {
		if seen[strings.ToLower(b)] {
			return nil, fmt.Errorf("dataset: cutout: band %s asked for twice", b)
		}
		seen[strings.ToLower(b)] = true
	}
	var c *Cutout
	var err error
	if len(paths) == 1 {
		c, err = readCube(paths[0], bands)
	} else {
		c, err = readPerBand(paths, bands)
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: cutout: %w", err)
	}
	c.NonFinite = make([]int, len(bands))
	for b, img := range c.Images {
		first := -1
		for i, v := range img {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				if first < 0 {
					first = i
				}
				c.NonFinite[b]++
			}
		}
		if c.NonFinite[b] > 0 && !opt.AllowNonFinite {
			return nil, fmt.Errorf("dataset: cutout: %s: band %s has %d NaN or infinite pixels (first at x=%d, y=%d); mask or inpaint them, or set AllowNonFinite",
				c.Paths[b], bands[b], c.NonFinite[b], first%c.NX, first/c.NX)
		}
	}
	for b, v := range c.Variance {
		for i, x := range v {
			if math.IsNaN(float64(x)) || x < 0 {
				return nil, fmt.Errorf("dataset: cutout: %s: band %s variance at x=%d, y=%d is %v", c.Paths[b], bands[b], i%c.NX, i/c.NX, x)
			}
		}
	}
	return c, nil
}

// fitsFile is a whole FITS file read into memory (cutouts are small).
type fitsFile struct {
	path string
	data []byte
	hdus []*hdu
}

func readFITS(path string) (*fitsFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	hdus, err := scanHDUs(bytesReaderAt(data), int64(len(data)), false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &fitsFile{path: path, data: data, hdus: hdus}, nil
}

// bytesReaderAt adapts a byte slice to io.ReaderAt.
type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, fmt.Errorf("offset %d out of range", off)
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, fmt.Errorf("read past end of data")
	}
	return n, nil
}

var varianceNames = map[string]bool{"VARIANCE": true, "VAR": true}
var weightNames = map[string]bool{"INVVAR": true, "IVAR": true, "WEIGHT": true, "WHT": true}

// imageHDU returns the first HDU holding a 2-D or 3-D image that is not a
// variance or weight map.
func (ff *fitsFile) imageHDU() (*hdu, error) {
	for _, u := range ff.hdus {
		if u.xtension == "BINTABLE" {
			if z, ok := u.hdr.get("ZIMAGE"); ok && z.value == true {
				return nil, fmt.Errorf("%s: %s is a tile-compressed (fpack) image, which is not supported; decompress it with funpack first", ff.path, u.label())
			}
		}
		if (u.index == 0 || u.xtension == "IMAGE") && (len(u.axes) == 2 || len(u.axes) == 3) &&
			!varianceNames[u.name] && !weightNames[u.name] {
			return u, nil
		}
	}
	return nil, fmt.Errorf("%s: no 2-D or 3-D image found", ff.path)
}

// noiseHDU returns the variance or weight extension, if any.
func (ff *fitsFile) noiseHDU() (u *hdu, inverse bool) {
	for _, u := range ff.hdus[1:] {
		if u.xtension != "IMAGE" {
			continue
		}
		if varianceNames[u.name] {
			return u, false
		}
		if weightNames[u.name] {
			return u, true
		}
	}
	return nil, false
}

// pixels decodes an image HDU to float32, applying BSCALE, BZERO and BLANK.
func (ff *fitsFile) pixels(u *hdu) ([]float32, error) {
	n := int64(1)
	for _, a := range u.axes {
		n *= a
	}
	bscale, bzero := 1.0, 0.0
	if v, err := u.hdr.float("BSCALE"); err == nil {
		bscale = v
	}
	if v, err := u.hdr.float("BZERO"); err == nil {
		bzero = v
	}
	blank, hasBlank := int64(0), false
	if v, err := u.hdr.int("BLANK"); err == nil && u.bitpix > 0 {
		blank, hasBlank = v, true
	}
	raw := ff.data[u.dataOff : u.dataOff+u.dataSize]
	out := make([]float32, n)
	scaled := bscale != 1 || bzero != 0
	for i := range out {
		var v float64
		var iv int64
		isInt := true
		switch u.bitpix {
		case 8:
			iv = int64(raw[i])
		case 16:
			iv = int64(int16(binary.BigEndian.Uint16(raw[2*i:])))
		case 32:
			iv = int64(int32(binary.BigEndian.Uint32(raw[4*i:])))
		case 64:
			iv = int64(binary.BigEndian.Uint64(raw[8*i:]))
		case -32:
			isInt = false
			v = float64(math.Float32frombits(binary.BigEndian.Uint32(raw[4*i:])))
		case -64:
			isInt = false
			v = math.Float64frombits(binary.BigEndian.Uint64(raw[8*i:]))
		default:
			return nil, fmt.Errorf("%s: %s has unsupported BITPIX %d", ff.path, u.label(), u.bitpix)
		}
		if isInt {
			if hasBlank && iv == blank {
				out[i] = float32(math.NaN())
				continue
			}
			v = float64(iv)
		}
		if scaled {
			v = bzero + bscale*v
		}
		out[i] = float32(v)
	}
	return out, nil
}

// headerMap merges the primary and image headers into strings.
func (ff *fitsFile) headerMap(u *hdu) map[string]string {
	m := map[string]string{}
	for _, h := range []*header{ff.hdus[0].hdr, u.hdr} {
		for _, c := range h.cards {
			if isCommentary(c.key) {
				continue
			}
			if s, ok := c.value.(string); ok {
				m[c.key] = s
			} else {
				m[c.key] = c.raw
			}
		}
	}
	return m
}

// lookup returns a string keyword from the image HDU, else the primary HDU.
func (ff *fitsFile) lookup(u *hdu, key string) (string, bool) {
	for _, h := range []*header{u.hdr, ff.hdus[0].hdr} {
		if s, err := h.str(key); err == nil && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s), true
		}
	}
	return "", false
}

// matchBand resolves a FILTER/BAND value to one of the wanted bands: the whole
// value, else its first word, else the only word that names a wanted band.
func matchBand(value string, bands []string) (int, bool) {
	find := func(s string) int {
		for i, b := range bands {
			if strings.EqualFold(s, b) {
				return i
			}
		}
		return -1
	}
	if i := find(value); i >= 0 {
		return i, true
	}
	words := strings.Fields(value)
	if len(words) > 0 {
		if i := find(words[0]); i >= 0 {
			return i, true
		}
	}
	hit := -1
	for _, w := range words {
		if i := find(w); i >= 0 {
			if hit >= 0 && hit != i {
				return -1, false
			}
			hit = i
		}
	}
	return hit, hit >= 0
}

// readPerBand reads one 2-D image per band.
func readPerBand(paths []string, bands []string) (*Cutout, error) {
	if len(paths) != len(bands) {
		return nil, fmt.Errorf("%d files for %d bands (%s); give one file per band, or a single cube", len(paths), len(bands), strings.Join(bands, ","))
	}
	type entry struct {
		ff    *fitsFile
		u     *hdu
		band  int
		label string
	}
	entries := make([]entry, len(paths))
	nTagged := 0
	for i, p := range paths {
		ff, err := readFITS(p)
		if err != nil {
			return nil, err
		}
		u, err := ff.imageHDU()
		if err != nil {
			return nil, err
		}
		if len(u.axes) == 3 && u.axes[2] != 1 {
			return nil, fmt.Errorf("%s: %s is a cube of %d planes; with one file per band each must hold a 2-D image", p, u.label(), u.axes[2])
		}
		e := entry{ff: ff, u: u, band: -1}
		for _, key := range []string{"FILTER", "BAND"} {
			if v, ok := ff.lookup(u, key); ok {
				e.label = fmt.Sprintf("%s = %q", key, v)
				if b, ok := matchBand(v, bands); ok {
					e.band = b
					nTagged++
				}
				break
			}
		}
		entries[i] = e
	}
	order := make([]int, len(bands)) // band -> entry
	switch nTagged {
	case 0:
		for i := range order {
			order[i] = i
		}
	case len(paths):
		for i := range order {
			order[i] = -1
		}
		for i, e := range entries {
			if j := order[e.band]; j >= 0 {
				return nil, fmt.Errorf("%s and %s are both band %s (%s, %s)", paths[j], paths[i], bands[e.band], entries[j].label, e.label)
			}
			order[e.band] = i
		}
	default:
		for i, e := range entries {
			if e.band < 0 {
				what := "no FILTER or BAND keyword"
				if e.label != "" {
					what = e.label + ", which names none of " + strings.Join(bands, ",")
				}
				return nil, fmt.Errorf("cannot tell the bands apart: %s has %s, while other files name their band", paths[i], what)
			}
		}
	}
	c := &Cutout{Bands: append([]string(nil), bands...), Paths: make([]string, len(bands)),
		Images: make([][]float32, len(bands))}
	withNoise := 0
	noise := make([][]float32, len(bands))
	for b := range bands {
		e := entries[order[b]]
		nx, ny := int(e.u.axes[0]), int(e.u.axes[1])
		c.Headers = append(c.Headers, e.ff.headerMap(e.u))
		if b == 0 {
			c.NX, c.NY = nx, ny
			c.Header = c.Headers[0]
		} else if nx != c.NX || ny != c.NY {
			return nil, fmt.Errorf("%s is %dx%d pixels but %s is %dx%d", e.ff.path, nx, ny, c.Paths[0], c.NX, c.NY)
		}
		c.Paths[b] = e.ff.path
		img, err := e.ff.pixels(e.u)
		if err != nil {
			return nil, err
		}
		c.Images[b] = img
		if nu, inverse := e.ff.noiseHDU(); nu != nil {
			if len(nu.axes) < 2 || fmt.Sprint(nu.axes[:2]) != fmt.Sprint(e.u.axes[:2]) || len(nu.axes) > 3 || (len(nu.axes) == 3 && nu.axes[2] != 1) {
				return nil, fmt.Errorf("%s: %s has shape %v, but the image is %v", e.ff.path, nu.label(), nu.axes, e.u.axes)
			}
			v, err := e.ff.pixels(nu)
			if err != nil {
				return nil, err
			}
			if inverse {
				invert(v)
			}
			noise[b] = v
			withNoise++
		}
	}
	if withNoise == len(bands) {
		c.Variance = noise
	} else if withNoise > 0 {
		for b := range bands {
			if noise[b] == nil {
				return nil, fmt.Errorf("%s has no variance or weight extension, but other bands do", c.Paths[b])
			}
		}
	}
	return c, nil
}

// invert turns inverse variance into variance; w = 0 becomes +Inf.
func invert(v []float32) {
	for i, w := range v {
		if w == 0 {
			v[i] = float32(math.Inf(1))
		} else {
			v[i] = 1 / w
		}
	}
}

// cubeBands reads the band names of a cube, or nil when it does not say.
func cubeBands(ff *fitsFile, u *hdu, nb int) []string {
	if s, ok := ff.lookup(u, "BANDS"); ok {
		var names []string
		switch {
		case strings.Contains(s, ","):
			names = strings.Split(s, ",")
		case len(strings.Fields(s)) == nb:
			names = strings.Fields(s)
		case len(s) == nb:
			names = strings.Split(s, "")
		}
		if len(names) == nb {
			for i := range names {
				names[i] = strings.TrimSpace(names[i])
			}
			return names
		}
	}
	for _, base := range []int{0, 1} {
		names := make([]string, nb)
		ok := true
		for i := range names {
			v, found := ff.lookup(u, "BAND"+strconv.Itoa(i+base))
			if !found {
				ok = false
				break
			}
			names[i] = v
		}
		if ok {
			return names
		}
	}
	return nil
}

// readCube reads a single file: a cube, or a 2-D image for one band.
func readCube(path string, bands []string) (*Cutout, error) {
	ff, err := readFITS(path)
	if err != nil {
		return nil, err
	}
	u, err := ff.imageHDU()
	if err != nil {
		return nil, err
	}
	nx, ny := int(u.axes[0]), int(u.axes[1])
	nb := 1
	if len(u.axes) == 3 {
		nb = int(u.axes[2])
	}
	c := &Cutout{Bands: append([]string(nil), bands...), NX: nx, NY: ny,
		Header: ff.headerMap(u), Paths: make([]string, len(bands)), Images: make([][]float32, len(bands))}
	for b := range bands {
		c.Paths[b] = path
		c.Headers = append(c.Headers, c.Header)
	}
	// planes[b] is the cube plane of the b-th wanted band.
	planes := make([]int, len(bands))
	names := cubeBands(ff, u, nb)
	switch {
	case nb == 1 && len(bands) > 1:
		return nil, fmt.Errorf("%s holds a single 2-D image, but %d bands (%s) were asked for; give one file per band or a cube", path, len(bands), strings.Join(bands, ","))
	case names != nil:
		for b, want := range bands {
			planes[b] = -1
			for i, n := range names {
				if strings.EqualFold(n, want) {
					planes[b] = i
				}
			}
			if planes[b] < 0 {
				return nil, fmt.Errorf("%s: the cube has bands %s, not %s", path, strings.Join(names, ","), want)
			}
		}
	case nb == 1:
		for _, key := range []string{"FILTER", "BAND"} {
			if v, ok := ff.lookup(u, key); ok {
				if _, ok := matchBand(v, bands); !ok {
					return nil, fmt.Errorf("%s: %s = %q is not band %s", path, key, v, bands[0])
				}
				break
			}
		}
	case nb != len(bands):
		return nil, fmt.Errorf("%s: the cube has %d bands (NAXIS3) and no BANDS keyword, but %d bands (%s) were asked for", path, nb, len(bands), strings.Join(bands, ","))
	default:
		for b := range planes {
			planes[b] = b
		}
	}
	all, err := ff.pixels(u)
	if err != nil {
		return nil, err
	}
	plane := nx * ny
	for b, p := range planes {
		c.Images[b] = all[p*plane : (p+1)*plane : (p+1)*plane]
	}
	if nu, inverse := ff.noiseHDU(); nu != nil {
		if fmt.Sprint(nu.axes) != fmt.Sprint(u.axes) {
			return nil, fmt.Errorf("%s: %s has shape %v, but the image is %v", path, nu.label(), nu.axes, u.axes)
		}
		v, err := ff.pixels(nu)
		if err != nil {
			return nil, err
		}
		if inverse {
			invert(v)
		}
		c.Variance = make([][]float32, len(bands))
		for b, p := range planes {
			c.Variance[b] = v[p*plane : (p+1)*plane : (p+1)*plane]
		}
	}
	return c, nil
}

// ZeroPointKeys are the header keywords read as a band's photometric zero
// point (AB magnitude of one unit of pixel value), first found wins.
var ZeroPointKeys = []string{"MAGZERO", "MAGZP", "PHOTZP", "ZEROPT", "ZP"}

// ZeroPoint returns band b's zero point from its header (ZeroPointKeys) and
// the keyword it came from.
func (c *Cutout) ZeroPoint(b int) (zp float64, key string, err error) {
	if b < 0 || b >= len(c.Bands) {
		return 0, "", fmt.Errorf("dataset: cutout has no band %d", b)
	}
	var h map[string]string
	if b < len(c.Headers) {
		h = c.Headers[b]
	}
	for _, k := range ZeroPointKeys {
		v, ok := h[k]
		if !ok {
			continue
		}
		zp, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(zp) || math.IsInf(zp, 0) {
			return 0, k, fmt.Errorf("dataset: %s: band %s: %s = %q is not a number", c.Paths[b], c.Bands[b], k, v)
		}
		return zp, k, nil
	}
	return 0, "", fmt.Errorf("dataset: %s: band %s: no zero-point keyword (%s); pass the zero point yourself", c.Paths[b], c.Bands[b], strings.Join(ZeroPointKeys, ", "))
}

// Rescale converts every band from the zero point in its header (see
// ZeroPoint) to target[b], multiplying the image by 10^(0.4 (target[b] -
// zp)) and the variance by the square: afterwards the pixels are in the
// units whose zero point is target (for lenssbi's models, the preset's
// per-band zero points of electrons per second, Preset.Bands[b].ZeroPoint,
// as the simulated training images). It changes nothing when a band lacks
// a zero point.
func (c *Cutout) Rescale(target []float64) error {
	if len(target) != len(c.Bands) {
		return fmt.Errorf("dataset: cutout: %d target zero points for %d bands", len(target), len(c.Bands))
	}
	factors := make([]float64, len(c.Bands))
	for b := range c.Bands {
		zp, _, err := c.ZeroPoint(b)
		if err != nil {
			return err
		}
		factors[b] = math.Pow(10, 0.4*(target[b]-zp))
	}
	for b, f := range factors {
		img := c.Images[b]
		for i := range img {
			img[i] = float32(float64(img[i]) * f)
		}
		if c.Variance != nil {
			v := c.Variance[b]
			for i := range v {
				v[i] = float32(float64(v[i]) * f * f)
			}
		}
	}
	return nil
}
