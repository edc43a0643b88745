package notebook

import (
	"image"
	"image/color"
	"path/filepath"
	"testing"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestHStackLayout(t *testing.T) {
	red, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}
	a := solid(10, 20, red)
	// An image whose bounds do not start at the origin must still be drawn whole.
	b := solid(6, 4, blue).SubImage(image.Rect(1, 1, 5, 3))
	out, err := HStack(2, nil, a, b)
	if err != nil {
		t.Fatal(err)
	}
	// width: 2 + 10 + 2 + 4 + 2; height: 20 + 2*2.
	if got := out.Bounds(); got.Dx() != 20 || got.Dy() != 24 {
		t.Fatalf("size %v, want 20x24", got)
	}
	at := func(x, y int) color.RGBA { return out.RGBAAt(x, y) }
	if at(0, 0) != (color.RGBA{255, 255, 255, 255}) || at(13, 2) != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("background not white: %v %v", at(0, 0), at(13, 2))
	}
	if at(2, 2) != red || at(11, 21) != red || at(12, 12) == red {
		t.Errorf("first image misplaced: %v %v %v", at(2, 2), at(11, 21), at(12, 12))
	}
	// The second image (4x2) is centred vertically: rows (24-2)/2 = 11 and 12.
	if at(14, 11) != blue || at(17, 12) != blue || at(14, 10) == blue || at(14, 13) == blue || at(18, 11) == blue {
		t.Errorf("second image misplaced: %v %v %v %v %v", at(14, 11), at(17, 12), at(14, 10), at(14, 13), at(18, 11))
	}
	if _, err := HStack(1, nil); err == nil {
		t.Error("no images: no error")
	}
	if _, err := HStack(1, nil, a, nil); err == nil {
		t.Error("nil image: no error")
	}
	if _, err := HStack(-1, nil, a); err == nil {
		t.Error("negative gap: no error")
	}
}

func TestRGBBandsPicksIRG(t *testing.T) {
	const nx, ny = 3, 2
	bands := []string{"g", "r", "i", "z"}
	img := make([]float32, len(bands)*nx*ny)
	for b := range bands {
		for p := 0; p < nx*ny; p++ {
			img[b*nx*ny+p] = float32(10*b + p)
		}
	}
	rgb, err := RGBBands(img, bands, nx, ny)
	if err != nil {
		t.Fatal(err)
	}
	// red = i (plane 2), green = r (1), blue = g (0).
	for c, plane := range []int{2, 1, 0} {
		if len(rgb[c]) != nx*ny || rgb[c][0] != float32(10*plane) || rgb[c][5] != float32(10*plane+5) {
			t.Errorf("channel %d = %v, want plane %d", c, rgb[c], plane)
		}
	}
	if _, err := RGBBands(img, []string{"g", "r", "z", "y"}, nx, ny); err == nil {
		t.Error("missing i band: no error")
	}
	if _, err := RGBBands(img[:5], bands, nx, ny); err == nil {
		t.Error("short image: no error")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	type payload struct {
		Names []string
		X     []float32
		M     map[string]float64
	}
	in := payload{Names: []string{"THETA_E"}, X: []float32{1.5, -2}, M: map[string]float64{"r2": 0.9}}
	path := filepath.Join(t.TempDir(), "sub", "p.gob")
	if err := Save(path, in); err != nil {
		t.Fatal(err)
	}
	var out payload
	if err := Load(path, &out); err != nil {
		t.Fatal(err)
	}
	if out.Names[0] != "THETA_E" || out.X[1] != -2 || out.M["r2"] != 0.9 {
		t.Errorf("round trip gave %+v", out)
	}
	if err := Load(filepath.Join(t.TempDir(), "missing.gob"), &out); err == nil {
		t.Error("missing file: no error")
	}
	if err := Save(path, func() {}); err == nil {
		t.Error("a func encoded without error")
	}
}
