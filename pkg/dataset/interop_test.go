package dataset

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/astrogo/fitsio"
)

// TestFitsioReadsOurFiles decodes a whole file with astrogo/fitsio, an
// independent FITS reader, and compares headers, cubes and table with what
// was written.
func TestFitsioReadsOurFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.fits")
	m, cols := testMeta(), testColumns()
	m.Extra = append(m.Extra, Card{Key: "NOTES", Value: "a long note that needs the CONTINUE convention because it runs past one card's 68 characters"})
	writeTestDataset(t, path, m, cols, 3, WriterOptions{})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ff, err := fitsio.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	if n := len(ff.HDUs()); n != 4 {
		t.Fatalf("fitsio sees %d HDUs", n)
	}
	ph := ff.HDU(0).Header()
	for key, want := range map[string]any{
		"H0": 67.74, "OM0": 0.3089, "PIXSCALE": 0.263, "SEED": 42, "NLENS": 3, "BANDS": "g,r,i,z",
		"PRESET": "delve-dr2", "SKYSCALE": 1.0 / 3.0, "NOTES": m.Extra[len(m.Extra)-1].Value,
	} {
		c := ph.Get(key)
		if c == nil || c.Value != want {
			t.Errorf("fitsio: %s = %#v, want %#v", key, c, want)
		}
	}
	npix := m.NX * m.NY * len(m.Bands)
	for _, name := range []string{"IMAGES", "VARIANCE"} {
		img, ok := ff.Get(name).(fitsio.Image)
		if !ok {
			t.Fatalf("fitsio: no image %s", name)
		}
		if got := fmt.Sprint(img.Header().Axes()); got != "[8 6 4 3]" {
			t.Errorf("fitsio: %s axes %s", name, got)
		}
		data := make([]float32, 3*npix)
		if err := img.Read(&data); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			im, vr, _ := testLens(m, len(cols), i)
			want := im
			if name == "VARIANCE" {
				want = vr
			}
			if !sameBits(data[i*npix:(i+1)*npix], want) {
				t.Errorf("fitsio: %s lens %d differs", name, i)
			}
		}
	}
	tbl, ok := ff.Get("PARAMS").(*fitsio.Table)
	if !ok {
		t.Fatal("fitsio: no table PARAMS")
	}
	if tbl.NumRows() != 3 || tbl.NumCols() != 6 {
		t.Fatalf("fitsio: table %dx%d", tbl.NumRows(), tbl.NumCols())
	}
	if c := tbl.Col(1); c.Name != "THETA_E" || c.Unit != "arcsec" || c.Bscale != 1 {
		t.Errorf("fitsio: column 2 %+v", c)
	}
	rows, err := tbl.Read(0, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; rows.Next(); i++ {
		var idx int64
		var theta, zl, sv, zs float64
		var nimg int32
		if err := rows.Scan(&idx, &theta, &zl, &sv, &zs, &nimg); err != nil {
			t.Fatal(err)
		}
		_, _, p := testLens(m, len(cols), i)
		if idx != int64(i) || theta != p[0] || zl != p[1] || sv != p[2] || zs != p[3] || float64(nimg) != p[4] {
			t.Errorf("fitsio: row %d = %v %v %v %v %v %v, want %v", i, idx, theta, zl, sv, zs, nimg, p)
		}
	}
}

// TestWriteForCI writes sample files for .ci/check_fits.py when
// LENSSBI_FITS_OUT names a directory: a single-file dataset, a sharded one,
// and a JSON sidecar per file with values the script compares against.
func TestWriteForCI(t *testing.T) {
	out := os.Getenv("LENSSBI_FITS_OUT")
	if out == "" {
		t.Skip("LENSSBI_FITS_OUT not set")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	m, cols := testMeta(), testColumns()
	m.Extra = append(m.Extra, Card{Key: "NOTES", Value: "a long note that needs the CONTINUE convention because it runs past one card's 68 characters"},
		Card{Key: "HISTORY", Value: "written by TestWriteForCI"})
	var files []string
	files = append(files, writeTestDataset(t, filepath.Join(out, "single.fits"), m, cols, 7, WriterOptions{Force: true})...)
	files = append(files, writeTestDataset(t, filepath.Join(out, "sharded.fits"), m, cols, 12, WriterOptions{ShardSize: 5, Force: true})...)
	for _, path := range files {
		d, err := OpenWith(path, OpenOptions{RequireColumns: DefaultRequiredColumns})
		if err != nil {
			t.Fatal(err)
		}
		sh := d.Shards()[0]
		params := map[string][]float64{}
		units := map[string]string{}
		for _, c := range d.Columns() {
			params[c.Name], _ = d.Column(c.Name)
			units[c.Name] = c.Unit
		}
		img, _ := d.ReadImages(0, 1, nil)
		vr, _ := d.ReadVariance(0, 1, nil)
		side := map[string]any{
			"nlens": sh.N, "firstidx": sh.FirstIndex, "nx": m.NX, "ny": m.NY, "bands": m.Bands,
			"params": params, "units": units,
			// Pixels as IEEE bit patterns: JSON cannot carry -0 (Python reads "-0" as int 0).
			"images_first_lens_bits": float32Bits(img), "variance_first_lens_bits": float32Bits(vr),
			"header": map[string]any{"H0": m.H0, "OM0": m.Om0, "SEED": m.Seed, "PIXSCALE": m.PixScale, "PRESET": m.Preset},
		}
		d.Close()
		b, err := json.MarshalIndent(side, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".json", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %v", files)
}

func float32Bits(v []float32) []uint32 {
	out := make([]uint32, len(v))
	for i, x := range v {
		out[i] = math.Float32bits(x)
	}
	return out
}
