package dataset

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

const cutNX, cutNY = 5, 4

// bandPixels is a recognisable float image for band b.
func bandPixels(b int) []float32 {
	v := make([]float32, cutNX*cutNY)
	for i := range v {
		v[i] = float32(100*b + i)
	}
	return v
}

// int16Bytes encodes v as BITPIX 16 data.
func int16Bytes(v []int16) []byte {
	out := make([]byte, 2*len(v))
	for i, x := range v {
		binary.BigEndian.PutUint16(out[2*i:], uint16(x))
	}
	return out
}

// TestCutoutPerBand writes one file per band in shuffled order, tagged with
// DECam-style FILTER values, with the image in an extension and an inverse
// variance map; the reader must sort them by band and invert the weights.
func TestCutoutPerBand(t *testing.T) {
	dir := t.TempDir()
	bands := []string{"g", "r", "i", "z"}
	filters := []string{"g DECam SDSS c0001 4720.0 1520.0", "r DECam SDSS c0002 6415.0 1480.0", "i DECam SDSS c0003 7835.0 1470.0", "z DECam SDSS c0004 9260.0 1520.0"}
	var paths []string
	for _, b := range []int{2, 0, 3, 1} { // file order i g z r
		img := bandPixels(b)
		w := make([]float32, len(img))
		for i := range w {
			w[i] = float32(int(1) << (i % 4)) // exact reciprocals
		}
		w[3] = 0 // no data
		prim := append(imageCards(true, 8), card{key: "FILTER", value: filters[b]}, card{key: "OBJECT", value: "lens candidate"})
		ext := append(imageCards(false, -32, cutNX, cutNY), card{key: "EXTNAME", value: "SCI"})
		wext := append(imageCards(false, -32, cutNX, cutNY), card{key: "EXTNAME", value: "INVVAR"})
		data := buildFITS(t, testHDU{cards: prim}, testHDU{cards: ext, data: float32Bytes(img)}, testHDU{cards: wext, data: float32Bytes(w)})
		paths = append(paths, writeFile(t, dir, "cut_"+bands[b]+".fits", data))
	}
	c, err := ReadCutout(paths, bands)
	if err != nil {
		t.Fatal(err)
	}
	if c.NX != cutNX || c.NY != cutNY || !slices.Equal(c.Bands, bands) {
		t.Fatalf("cutout %dx%d bands %v", c.NX, c.NY, c.Bands)
	}
	for b := range bands {
		if !slices.Equal(c.Images[b], bandPixels(b)) {
			t.Errorf("band %s: wrong image (from %s)", bands[b], c.Paths[b])
		}
		if filepath.Base(c.Paths[b]) != "cut_"+bands[b]+".fits" {
			t.Errorf("band %s read from %s", bands[b], c.Paths[b])
		}
		v := c.Variance[b]
		if !math.IsInf(float64(v[3]), 1) || v[0] != 1 || v[1] != 0.5 || v[6] != 0.25 {
			t.Errorf("band %s variance %v", bands[b], v[:8])
		}
	}
	if c.Header["FILTER"] != filters[0] || c.Header["OBJECT"] != "lens candidate" || c.Header["EXTNAME"] != "SCI" {
		t.Errorf("header %v", c.Header)
	}

	// Wrong band count.
	_, err = ReadCutout(paths[:3], bands)
	wantErr(t, err, "3 files for 4 bands")
	// A band nobody has.
	_, err = ReadCutout(paths, []string{"g", "r", "i", "Y"})
	wantErr(t, err, "cannot tell the bands apart")
	// Two files of the same band.
	_, err = ReadCutout([]string{paths[0], paths[0]}, []string{"i", "g"})
	wantErr(t, err, "are both band i")
}

// TestCutoutScaledIntegers reads BITPIX 16 data with BSCALE, BZERO and BLANK
// from files without band keywords (so file order decides), and checks the
// NaN policy.
func TestCutoutScaledIntegers(t *testing.T) {
	dir := t.TempDir()
	raw := make([]int16, cutNX*cutNY)
	for i := range raw {
		raw[i] = int16(i - 3)
	}
	mk := func(name string, blank bool) string {
		cards := append(imageCards(true, 16, cutNX, cutNY), card{key: "BSCALE", value: 0.5}, card{key: "BZERO", value: 10.0})
		r := slices.Clone(raw)
		if blank {
			cards = append(cards, card{key: "BLANK", value: -32768})
			r[7] = -32768
		}
		return writeFile(t, dir, name, buildFITS(t, testHDU{cards: cards, data: int16Bytes(r)}))
	}
	a, b := mk("a.fits", false), mk("b.fits", true)
	c, err := ReadCutout([]string{a, a}, []string{"g", "r"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range c.Images[1] {
		if want := float32(10 + 0.5*float64(raw[i])); v != want {
			t.Fatalf("pixel %d = %v, want %v", i, v, want)
		}
	}
	if c.Variance != nil {
		t.Error("variance without a variance extension")
	}
	_, err = ReadCutout([]string{a, b}, []string{"g", "r"})
	wantErr(t, err, "b.fits", "band r has 1 NaN or infinite pixels", "x=2, y=1")
	c, err = ReadCutoutWith([]string{a, b}, []string{"g", "r"}, CutoutOptions{AllowNonFinite: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.NonFinite, []int{0, 1}) || !math.IsNaN(float64(c.Images[1][7])) {
		t.Errorf("NonFinite %v, pixel %v", c.NonFinite, c.Images[1][7])
	}
	// Shapes must agree.
	small := writeFile(t, dir, "small.fits", buildFITS(t, testHDU{cards: imageCards(true, -32, 3, 3), data: float32Bytes(make([]float32, 9))}))
	_, err = ReadCutout([]string{a, small}, []string{"g", "r"})
	wantErr(t, err, "small.fits is 3x3 pixels", "5x4")
}

// TestCutoutCube reads a Legacy-Survey-style cube (BANDS = 'griz') with a
// VARIANCE extension, selecting and reordering bands.
func TestCutoutCube(t *testing.T) {
	dir := t.TempDir()
	var cube, vcube []float32
	for b := 0; b < 4; b++ {
		cube = append(cube, bandPixels(b)...)
		for _, v := range bandPixels(b) {
			vcube = append(vcube, v/1000)
		}
	}
	prim := append(imageCards(true, -32, cutNX, cutNY, 4), card{key: "BANDS", value: "griz"})
	vext := append(imageCards(false, -32, cutNX, cutNY, 4), card{key: "EXTNAME", value: "VARIANCE"})
	path := writeFile(t, dir, "cube.fits", buildFITS(t, testHDU{cards: prim, data: float32Bytes(cube)}, testHDU{cards: vext, data: float32Bytes(vcube)}))
	c, err := ReadCutout([]string{path}, []string{"z", "g"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Images[0], bandPixels(3)) || !slices.Equal(c.Images[1], bandPixels(0)) {
		t.Error("cube bands not selected by name")
	}
	if c.Variance[0][5] != bandPixels(3)[5]/1000 {
		t.Errorf("variance %v", c.Variance[0][5])
	}
	_, err = ReadCutout([]string{path}, []string{"g", "Y"})
	wantErr(t, err, "has bands g,r,i,z, not Y")

	// Without band names, the plane count must match.
	anon := writeFile(t, dir, "anon.fits", buildFITS(t, testHDU{cards: imageCards(true, -32, cutNX, cutNY, 4), data: float32Bytes(cube)}))
	c, err = ReadCutout([]string{anon}, []string{"g", "r", "i", "z"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Images[2], bandPixels(2)) {
		t.Error("anonymous cube: band order")
	}
	_, err = ReadCutout([]string{anon}, []string{"g", "r", "i"})
	wantErr(t, err, "anon.fits", "has 4 bands (NAXIS3)", "3 bands")

	// A single 2-D image cannot serve several bands.
	flat := writeFile(t, dir, "flat.fits", buildFITS(t, testHDU{cards: append(imageCards(true, -32, cutNX, cutNY), card{key: "FILTER", value: "r"}), data: float32Bytes(bandPixels(1))}))
	_, err = ReadCutout([]string{flat}, []string{"g", "r"})
	wantErr(t, err, "single 2-D image", "2 bands")
	if _, err := ReadCutout([]string{flat}, []string{"r"}); err != nil {
		t.Error(err)
	}
	_, err = ReadCutout([]string{flat}, []string{"g"})
	wantErr(t, err, "FILTER = \"r\" is not band g")

	// Tile-compressed images are refused with advice.
	fz := buildFITS(t, testHDU{cards: imageCards(true, 8)}, testHDU{cards: []card{
		{key: "XTENSION", value: "BINTABLE"}, {key: "BITPIX", value: 8}, {key: "NAXIS", value: 2},
		{key: "NAXIS1", value: 8}, {key: "NAXIS2", value: 0}, {key: "PCOUNT", value: 0}, {key: "GCOUNT", value: 1},
		{key: "TFIELDS", value: 1}, {key: "ZIMAGE", value: true},
	}})
	_, err = ReadCutout([]string{writeFile(t, dir, "c.fits.fz", fz)}, []string{"g"})
	wantErr(t, err, "funpack")
	_, err = ReadCutout(nil, []string{"g"})
	wantErr(t, err, "no files")
	_, err = ReadCutout([]string{path}, []string{"g", "G"})
	wantErr(t, err, "asked for twice")
}

// TestCutoutAstropyFixtures reads cutouts written by astropy
// (testdata/make_astropy_fixtures.py): an independent writer.
func TestCutoutAstropyFixtures(t *testing.T) {
	pix := func(b, y, x int) float64 { return float64(5*y + x + 100*b) }
	c, err := ReadCutout([]string{"testdata/cube.fits"}, []string{"g", "r", "i", "z"})
	if err != nil {
		t.Fatal(err)
	}
	if c.NX != 5 || c.NY != 4 || c.Header["OBJECT"] != "astropy cube" {
		t.Fatalf("cube %dx%d header %v", c.NX, c.NY, c.Header)
	}
	for b := 0; b < 4; b++ {
		for y := 0; y < 4; y++ {
			for x := 0; x < 5; x++ {
				if got := c.Images[b][y*5+x]; float64(got) != pix(b, y, x) {
					t.Fatalf("cube band %d (y %d, x %d) = %v, want %v", b, y, x, got, pix(b, y, x))
				}
				wantVar := 0.25
				if b == 0 && y == 0 && x == 3 {
					wantVar = math.Inf(1)
				}
				if got := c.Variance[b][y*5+x]; float64(got) != wantVar {
					t.Fatalf("cube variance band %d (y %d, x %d) = %v, want %v", b, y, x, got, wantVar)
				}
			}
		}
	}
	// Per-band files given in reverse order; bands come from FILTER.
	c, err = ReadCutout([]string{"testdata/band_r.fits", "testdata/band_g.fits"}, []string{"g", "r"})
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 2; b++ {
		for i, got := range c.Images[b] {
			if want := 10 + 0.5*pix(0, i/5, i%5) + 100*float64(b); float64(got) != want {
				t.Fatalf("band %s pixel %d = %v, want %v", c.Bands[b], i, got, want)
			}
			if c.Variance[b][i] != 0.25 {
				t.Fatalf("band %s variance %v", c.Bands[b], c.Variance[b][i])
			}
		}
	}
	if filepath.Base(c.Paths[0]) != "band_g.fits" {
		t.Errorf("band g read from %s", c.Paths[0])
	}
}

// TestCutoutRescale: per-band zero points come from each band's own file,
// and Rescale puts the pixels (and variances, squared) on a target scale: a
// source of magnitude m keeps magnitude m.
func TestCutoutRescale(t *testing.T) {
	dir := t.TempDir()
	bands := []string{"g", "r"}
	zps := []float64{30, 22.5}
	var paths []string
	for b := range bands {
		prim := append(imageCards(true, -32, cutNX, cutNY), card{key: "FILTER", value: bands[b]}, card{key: []string{"MAGZERO", "MAGZP"}[b], value: zps[b]})
		wext := append(imageCards(false, -32, cutNX, cutNY), card{key: "EXTNAME", value: "VARIANCE"})
		v := make([]float32, cutNX*cutNY)
		for i := range v {
			v[i] = 4
		}
		paths = append(paths, writeFile(t, dir, bands[b]+".fits", buildFITS(t, testHDU{cards: prim, data: float32Bytes(bandPixels(b + 1))}, testHDU{cards: wext, data: float32Bytes(v)})))
	}
	c, err := ReadCutout(paths, bands)
	if err != nil {
		t.Fatal(err)
	}
	for b := range bands {
		zp, key, err := c.ZeroPoint(b)
		if err != nil || zp != zps[b] || key != []string{"MAGZERO", "MAGZP"}[b] {
			t.Fatalf("band %s zero point %v from %s (%v), want %v", bands[b], zp, key, err, zps[b])
		}
	}
	target := []float64{25, 25}
	if err := c.Rescale(target); err != nil {
		t.Fatal(err)
	}
	for b := range bands {
		raw := bandPixels(b + 1)
		for i, x := range c.Images[b] {
			// The same magnitude before and after: zp - 2.5 log10(raw) = target - 2.5 log10(x).
			m0 := zps[b] - 2.5*math.Log10(float64(raw[i]))
			m1 := target[b] - 2.5*math.Log10(float64(x))
			if math.Abs(m0-m1) > 1e-6 {
				t.Fatalf("band %s pixel %d: magnitude %v became %v", bands[b], i, m0, m1)
			}
		}
		f := math.Pow(10, 0.4*(target[b]-zps[b]))
		if got := float64(c.Variance[b][0]); math.Abs(got/(4*f*f)-1) > 1e-6 {
			t.Errorf("band %s variance %v, want %v", bands[b], got, 4*f*f)
		}
	}
	// Errors name the problem: wrong count, missing zero point.
	wantErr(t, c.Rescale([]float64{25}), "1 target zero points for 2 bands")
	bare := writeFile(t, dir, "bare.fits", buildFITS(t, testHDU{cards: imageCards(true, -32, cutNX, cutNY), data: float32Bytes(bandPixels(0))}))
	c2, err := ReadCutout([]string{bare}, []string{"g"})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, c2.Rescale([]float64{25}), "bare.fits", "no zero-point keyword")
}
