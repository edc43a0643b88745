package dataset

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testMeta is a small, non-square image set so that x/y mix-ups show.
func testMeta() Meta {
	return Meta{
		Preset: "delve-dr2", Seed: 42, H0: 67.74, Om0: 0.3089,
		NX: 8, NY: 6, Bands: []string{"g", "r", "i", "z"},
		PixScale: 0.263, Supersample: 3,
		Date: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Extra: []Card{
			{Key: "PSFMODEL", Value: "gaussian", Comment: "PSF shape"},
			{Key: "SKYSCALE", Value: 1.0 / 3.0},
			{Key: "NEXP", Value: 10, Comment: "exposures per band"},
			{Key: "NOISE", Value: true},
		},
	}
}

func testColumns() []Column {
	return []Column{
		{Name: "THETA_E", Unit: "arcsec", Description: "Einstein radius"},
		{Name: "Z_LENS", Description: "lens redshift"},
		{Name: "SIGMA_V", Unit: "km/s", Description: "lens velocity dispersion"},
		{Name: "Z_SOURCE", Description: "source redshift"},
		{Name: "N_IMAGES", Format: "J", Description: "number of lensed images"},
	}
}

// testLens returns deterministic, awkward values for lens i: random floats
// plus signed zeros, subnormals and extremes that a lossy path would change.
func testLens(m Meta, ncols, i int) (img, vr []float32, params []float64) {
	rng := rand.New(rand.NewPCG(7, uint64(i)))
	n := m.NX * m.NY * len(m.Bands)
	img = make([]float32, n)
	vr = make([]float32, n)
	for k := range img {
		img[k] = float32(rng.NormFloat64() * 100)
		vr[k] = float32(rng.ExpFloat64())
	}
	img[0] = float32(math.Copysign(0, -1))
	img[1] = math.SmallestNonzeroFloat32
	img[2] = math.MaxFloat32
	img[n-1] = float32(i) // identifies the lens
	vr[0] = 0
	params = make([]float64, ncols)
	for k := range params {
		params[k] = rng.Float64()*10 - 1
	}
	params[0] = float64(i) + 0.1 // THETA_E identifies the lens too
	if ncols >= 5 {
		params[4] = float64(rng.IntN(5)) // N_IMAGES, int32
	}
	return img, vr, params
}

// writeTestDataset writes ntotal lenses and returns the writer's paths.
func writeTestDataset(t testing.TB, path string, m Meta, cols []Column, ntotal int, opt WriterOptions) []string {
	t.Helper()
	w, err := Create(path, m, cols, ntotal, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < ntotal; i++ {
		img, vr, p := testLens(m, len(cols), i)
		if err := w.Write(img, vr, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Paths()
}

// wantErr fails unless err is non-nil and contains every fragment.
func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error %q does not contain %q", err, f)
		}
	}
}

// listDir returns the names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// fileHDUs scans a file written by the tests.
func fileHDUs(t *testing.T, data []byte) []*hdu {
	t.Helper()
	hdus, err := scanHDUs(bytesReaderAt(data), int64(len(data)), true)
	if err != nil {
		t.Fatal(err)
	}
	return hdus
}

// patchCard replaces the card key of the given HDU with a new card.
func patchCard(t *testing.T, data []byte, u *hdu, key string, value any) {
	t.Helper()
	for off := u.headerOff; off < u.dataOff; off += cardLen {
		line := data[off : off+cardLen]
		if strings.TrimRight(string(line[:8]), " ") == key {
			v, err := normalizeValue(value)
			if err != nil {
				t.Fatal(err)
			}
			b, err := encodeCard(card{key: key, value: v})
			if err != nil || len(b) != cardLen {
				t.Fatalf("encoding %s: %v", key, err)
			}
			copy(line, b)
			return
		}
	}
	t.Fatalf("card %s not found in %s", key, u.label())
}

// testHDU is one HDU for buildFITS.
type testHDU struct {
	cards []card
	data  []byte
}

// buildFITS assembles a FITS file from headers and raw data, padding both.
func buildFITS(t *testing.T, hdus ...testHDU) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, u := range hdus {
		h := newHeader()
		if err := h.addAll(u.cards); err != nil {
			t.Fatal(err)
		}
		b, err := h.encode()
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.Write(u.data)
		buf.Write(make([]byte, padTo(int64(len(u.data)))-int64(len(u.data))))
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// imageCards are the mandatory cards of an image HDU.
func imageCards(primary bool, bitpix int, axes ...int) []card {
	var cs []card
	if primary {
		cs = append(cs, card{key: "SIMPLE", value: true})
	} else {
		cs = append(cs, card{key: "XTENSION", value: "IMAGE"})
	}
	cs = append(cs, card{key: "BITPIX", value: bitpix}, card{key: "NAXIS", value: len(axes)})
	for i, a := range axes {
		cs = append(cs, card{key: fmt.Sprintf("NAXIS%d", i+1), value: a})
	}
	if !primary {
		cs = append(cs, card{key: "PCOUNT", value: 0}, card{key: "GCOUNT", value: 1})
	}
	return cs
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	putFloat32s(b, v)
	return b
}
