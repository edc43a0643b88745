package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/astrogo/fitsio"
)

// TestWriteFITSRoundTrip writes a primary HDU, an image and a table with
// WriteFITS and reads them back with fitsio.
func TestWriteFITSRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "post.fits")
	data := make([]float32, 2*3*5)
	for i := range data {
		data[i] = float32(i) * 0.5
	}
	img := ImageHDU{Name: "SAMPLES", Dims: []int{2, 3, 5}, AxisNames: []string{"parameter", "sample", "lens"}, Data: data}
	tbl := TableHDU{Name: "SUMMARY", Comment: "one row per lens",
		Columns: []Column{{Name: "INDEX", Format: "K"}, {Name: "THETA_E_MEDIAN", Unit: "arcsec"}},
		Data:    [][]float64{{0, 1, 2, 3, 4}, {1.1, 1.2, 1.3, 1.4, 1.5}}}
	if err := WriteFITS(path, []Card{{Key: "MODEL", Value: "models/x"}}, false, img, tbl); err != nil {
		t.Fatal(err)
	}
	if err := WriteFITS(path, nil, false, img); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("overwrite without force: %v", err)
	}
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
	if c := ff.HDU(0).Header().Get("MODEL"); c == nil || c.Value != "models/x" {
		t.Errorf("MODEL card %v", c)
	}
	im := ff.Get("SAMPLES").(fitsio.Image)
	if got := fmt.Sprint(im.Header().Axes()); got != "[2 3 5]" {
		t.Errorf("axes %s", got)
	}
	back := make([]float32, len(data))
	if err := im.Read(&back); err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if back[i] != data[i] {
			t.Fatalf("pixel %d: %g vs %g", i, back[i], data[i])
		}
	}
	tb := ff.Get("SUMMARY").(*fitsio.Table)
	rows, err := tb.Read(0, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; rows.Next(); i++ {
		var idx int64
		var med float64
		if err := rows.Scan(&idx, &med); err != nil {
			t.Fatal(err)
		}
		if idx != int64(i) || med != tbl.Data[1][i] {
			t.Errorf("row %d: %d %g", i, idx, med)
		}
	}
	if err := WriteFITS(filepath.Join(t.TempDir(), "bad.fits"), nil, false, ImageHDU{Name: "X", Dims: []int{2}, Data: []float32{1}}); err == nil {
		t.Error("shape mismatch accepted")
	}
}
