package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeLens is a synthetic DECam-like g r i cutout in e-/s: a red elliptical
// deflector, a blue arc on the Einstein ring, and Gaussian noise.
type fakeLens struct {
	thetaE, zl, zs float64
	bands          [3][]float32 // i, r, g (composite order)
	lensPix        int          // index of the deflector's centre pixel
	arcPix         int          // index of a pixel on the arc's ridge
}

func makeFakeLens(rng *rand.Rand, nx int) fakeLens {
	const pix = 0.263 // arcsec
	l := fakeLens{
		thetaE: 0.8 + 1.4*rng.Float64(),
		zl:     0.2 + 0.5*rng.Float64(),
	}
	l.zs = l.zl + 0.5 + 1.5*rng.Float64()
	c := float64(nx-1) / 2
	// Deflector: r ~ 19-20.5 mag, g-r ~ 1.6, r-i ~ 0.6 (an old population
	// at z ~ 0.4), Gaussian of sigma 1.3-2 px after seeing.
	rMag := 19 + 1.5*rng.Float64()
	lensFlux := [3]float64{ // i, r, g in e-/s with the DECam zero points
		math.Pow(10, -0.4*(rMag-0.6-26.75)),
		math.Pow(10, -0.4*(rMag-26.78)),
		math.Pow(10, -0.4*(rMag+1.6-26.58)),
	}
	sl := 1.3 + 0.7*rng.Float64()
	q := 0.6 + 0.4*rng.Float64()
	// Arc: magnified source r ~ 20.5-21.5 total, g-r ~ 0.3, r-i ~ 0.2,
	// spread along 60-150 degrees of the ring with a 0.8 px radial width.
	sMag := 20.5 + rng.Float64()
	arcFlux := [3]float64{
		math.Pow(10, -0.4*(sMag-0.2-26.75)),
		math.Pow(10, -0.4*(sMag-26.78)),
		math.Pow(10, -0.4*(sMag+0.3-26.58)),
	}
	phi0 := 2 * math.Pi * rng.Float64()
	dphi := (60 + 90*rng.Float64()) * math.Pi / 180
	re := l.thetaE / pix
	const sr = 0.8
	noise := [3]float64{0.55, 0.4, 0.3}
	lens := make([]float64, nx*nx)
	arc := make([]float64, nx*nx)
	var lensSum, arcSum float64
	for y := range nx {
		for x := range nx {
			dx, dy := float64(x)-c, float64(y)-c
			i := y*nx + x
			lens[i] = math.Exp(-(dx*dx*q + dy*dy/q) / (2 * sl * sl))
			r := math.Hypot(dx, dy)
			dp := math.Remainder(math.Atan2(dy, dx)-phi0, 2*math.Pi)
			w := dphi / 2.5
			arc[i] = math.Exp(-(r-re)*(r-re)/(2*sr*sr)) * math.Exp(-dp*dp/(2*w*w))
			lensSum += lens[i]
			arcSum += arc[i]
		}
	}
	for b := range 3 {
		l.bands[b] = make([]float32, nx*nx)
		for i := range l.bands[b] {
			v := lensFlux[b]*lens[i]/lensSum + arcFlux[b]*arc[i]/arcSum + noise[b]*rng.NormFloat64()
			l.bands[b][i] = float32(v)
		}
	}
	ci := int(math.Round(c))
	l.lensPix = ci*nx + ci
	ax := int(math.Round(c + re*math.Cos(phi0)))
	ay := int(math.Round(c + re*math.Sin(phi0)))
	l.arcPix = ay*nx + ax
	return l
}

// sampleSheet builds a contact sheet of synthetic lenses and returns the
// lenses, their composites and the sheet.
func sampleSheet(t testing.TB, n, cols, tileSize int) ([]fakeLens, []*image.RGBA, *image.RGBA, LuptonOptions) {
	t.Helper()
	const nx = 48
	rng := rand.New(rand.NewPCG(2025, 7))
	lenses := make([]fakeLens, n)
	cuts := make([][3][]float32, n)
	for k := range lenses {
		lenses[k] = makeFakeLens(rng, nx)
		cuts[k] = lenses[k].bands
	}
	opt, err := AutoLupton(DefaultLupton(), cuts...)
	if err != nil {
		t.Fatal(err)
	}
	tiles := make([]Tile, n)
	imgs := make([]*image.RGBA, n)
	for k, l := range lenses {
		img, err := Composite(l.bands[0], l.bands[1], l.bands[2], nx, nx, opt)
		if err != nil {
			t.Fatal(err)
		}
		imgs[k] = img
		tiles[k] = Tile{Image: img, Lines: []string{
			fmt.Sprintf("θE=%.2f\"", l.thetaE),
			fmt.Sprintf("zl=%.2f zs=%.2f", l.zl, l.zs),
		}}
	}
	title := fmt.Sprintf("Synthetic lenses, g r i (Lupton Q=%.1f, stretch=%.1f e-/s)", opt.Q, opt.Stretch)
	sheet, err := ContactSheet(tiles, cols, tileSize, title)
	if err != nil {
		t.Fatal(err)
	}
	return lenses, imgs, sheet, opt
}

// TestSampleSheet checks the colour balance on realistic synthetic lenses
// (red deflectors, blue arcs) and writes the sheet to the file named by
// $LENSSBI_SAMPLE_SHEET, if set, for a visual check.
func TestSampleSheet(t *testing.T) {
	lenses, imgs, sheet, opt := sampleSheet(t, 24, 8, 160)
	t.Logf("AutoLupton: Q=%.2f Stretch=%.2f; sheet %v", opt.Q, opt.Stretch, sheet.Bounds().Size())
	// DefaultLupton was derived for this kind of population (single-epoch
	// DECam noise, r ~ 19-20.5 deflectors); AutoLupton should agree with it.
	def := DefaultLupton()
	if math.Abs(opt.Q/def.Q-1) > 0.3 || math.Abs(opt.Stretch/def.Stretch-1) > 0.3 {
		t.Errorf("AutoLupton on DECam-like lenses: Q=%.1f Stretch=%.1f, want within 30%% of the default Q=%v Stretch=%v",
			opt.Q, opt.Stretch, def.Q, def.Stretch)
	}
	redder, bluer := 0, 0
	for k, l := range lenses {
		nx := imgs[k].Bounds().Dx()
		at := func(i int) color.RGBA { return imgs[k].RGBAAt(i%nx, nx-1-i/nx) }
		lc, ac := at(l.lensPix), at(l.arcPix)
		if lc.R > lc.B {
			redder++
		}
		if int(ac.B)-int(ac.R) > 0 {
			bluer++
		}
	}
	// Noise can flip an individual arc pixel; nearly all should show the colours.
	if redder != len(lenses) || bluer < len(lenses)*3/4 {
		t.Errorf("deflector cores redder than blue in %d/%d, arc ridges bluer than red in %d/%d",
			redder, len(lenses), bluer, len(lenses))
	}
	if path := os.Getenv("LENSSBI_SAMPLE_SHEET"); path != "" {
		if err := SavePNG(path, sheet); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}

// solid is a uniform w x h image.
func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestLayoutSheet(t *testing.T) {
	tiles := make([]Tile, 7)
	for k := range tiles {
		tiles[k] = Tile{Image: solid(48, 48, color.RGBA{200, 0, 0, 255}), Lines: []string{"ab", "c"}}
	}
	tiles[3].Lines = []string{"x"}
	l, err := LayoutSheet(tiles, 3, 96, "")
	if err != nil {
		t.Fatal(err)
	}
	// Short labels: the font is the largest allowed, 96/8 = 12 px; pad max(6, 96/20) = 6;
	// line height ceil(1.3*12) = 16; two lines (the most any tile has).
	want := SheetLayout{Cols: 3, Rows: 3, TileSize: 96, Pad: 6, LabelPx: 12, LineH: 16, Lines: 2,
		CellW: 96, CellH: 96 + 2*16 + 3, W: 6 + 3*(96+6), H: 6 + 3*(96+2*16+3+6)}
	if l != want {
		t.Errorf("layout\n got %+v\nwant %+v", l, want)
	}
	// Cell 4 is row 1, column 1.
	if got := l.Cell(4); got != image.Rect(6+102, 6+137, 6+102+96, 6+137+96) {
		t.Errorf("Cell(4) = %v", got)
	}
	// cols is capped at the number of tiles; a title adds a band on top.
	l2, err := LayoutSheet(tiles[:2], 5, 96, "Title")
	if err != nil {
		t.Fatal(err)
	}
	if l2.Cols != 2 || l2.Rows != 1 || l2.TitleH <= l2.TitlePx || l2.H != l2.TitleH+6+l2.CellH+6 {
		t.Errorf("capped layout with title: %+v", l2)
	}
	// A long label shrinks the font so that it fits the tile width.
	tiles[0].Lines = []string{strings.Repeat("W", 30)}
	l3, err := LayoutSheet(tiles, 3, 96, "")
	if err != nil {
		t.Fatal(err)
	}
	if l3.LabelPx != minLabelPx {
		t.Errorf("30 W's under a 96 px tile: label font %d px, want the %d px floor", l3.LabelPx, minLabelPx)
	}
}

func TestContactSheet(t *testing.T) {
	colours := []color.RGBA{{255, 40, 40, 255}, {40, 255, 40, 255}, {40, 40, 255, 255}, {250, 250, 250, 255}, {120, 60, 200, 255}}
	var tiles []Tile
	for k, c := range colours {
		tiles = append(tiles, Tile{Image: solid(48, 48, c), Lines: []string{fmt.Sprintf("θE=1.%d\" zl=0.4%d", k, k), "zs=1.80"}})
	}
	// A non-square tile is fitted, centred, keeping its aspect ratio.
	tiles = append(tiles, Tile{Image: solid(96, 48, color.RGBA{255, 255, 0, 255}),
		Lines: []string{"a label far too long to fit under one tile of the sheet"}})
	const cols, size = 4, 128
	sheet, err := ContactSheet(tiles, cols, size, "Contact sheet test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := LayoutSheet(tiles, cols, size, "Contact sheet test")
	if err != nil {
		t.Fatal(err)
	}
	if got := sheet.Bounds().Size(); got != image.Pt(l.W, l.H) ||
		l.W != l.Pad+cols*(size+l.Pad) || l.H != l.TitleH+l.Pad+2*(l.CellH+l.Pad) {
		t.Fatalf("sheet size %v, layout %+v", got, l)
	}
	// Each tile is where the layout says, scaled by nearest neighbour (exact colours).
	for k, c := range colours {
		r := l.Cell(k)
		for _, p := range []image.Point{r.Min, r.Max.Sub(image.Pt(1, 1)), r.Min.Add(r.Max).Div(2)} {
			if got := sheet.RGBAAt(p.X, p.Y); got != c {
				t.Errorf("tile %d at %v: %v, want %v", k, p, got, c)
			}
		}
	}
	wide := l.Cell(5)
	if got := sheet.RGBAAt(wide.Min.X, wide.Min.Y+size/2); got != (color.RGBA{255, 255, 0, 255}) {
		t.Errorf("wide tile, middle of left edge: %v, want yellow", got)
	}
	if got := sheet.RGBAAt(wide.Min.X+size/2, wide.Min.Y+2); got != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("wide tile, top of square (letterbox): %v, want black", got)
	}

	// Not blank: luminance variance well above zero.
	var s, s2 float64
	for i := 0; i < len(sheet.Pix); i += 4 {
		y := 0.299*float64(sheet.Pix[i]) + 0.587*float64(sheet.Pix[i+1]) + 0.114*float64(sheet.Pix[i+2])
		s += y
		s2 += y * y
	}
	npx := float64(len(sheet.Pix) / 4)
	if v := s2/npx - (s/npx)*(s/npx); v < 500 {
		t.Errorf("luminance variance %.1f, want > 500 (sheet looks blank)", v)
	}

	// Text: the label area under tile 0 and the title band hold bright
	// (text-coloured) pixels; the gap right of the over-long label of tile 5
	// (the last column of row 1) does not, as it is cut with an ellipsis.
	bright := func(r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if c := sheet.RGBAAt(x, y); c.R > 150 && c.G > 150 && c.B > 150 {
					n++
				}
			}
		}
		return n
	}
	c0 := l.Cell(0)
	label0 := image.Rect(c0.Min.X, c0.Max.Y, c0.Max.X, c0.Min.Y+l.CellH)
	if n := bright(label0); n < 50 {
		t.Errorf("label area of tile 0 has %d text pixels, want >= 50", n)
	}
	titleBand := image.Rect(0, 0, l.W, l.TitleH)
	if n := bright(titleBand); n < 50 {
		t.Errorf("title band has %d text pixels, want >= 50", n)
	}
	gap := image.Rect(wide.Max.X+2, wide.Max.Y, l.W, wide.Min.Y+l.CellH)
	if n := bright(gap); n != 0 {
		t.Errorf("%d text pixels right of the truncated label, want 0", n)
	}
	if n := bright(image.Rect(wide.Min.X, wide.Max.Y, wide.Max.X, wide.Min.Y+l.CellH)); n < 50 {
		t.Errorf("truncated label drew %d text pixels, want >= 50", n)
	}
}

func TestRenderable(t *testing.T) {
	regular, _, err := loadFonts()
	if err != nil {
		t.Fatal(err)
	}
	// Liberation Sans has Greek, so θ is kept.
	if got := renderable(regular, `θE=1.23"`); got != `θE=1.23"` {
		t.Errorf("renderable(θE) = %q, want unchanged", got)
	}
	// A rune it lacks is replaced.
	if got := renderable(regular, "a\U0001F52Db"); got != "a?b" {
		t.Errorf("renderable(emoji) = %q, want a?b", got)
	}
}

func TestContactSheetErrors(t *testing.T) {
	ok := Tile{Image: solid(8, 8, color.RGBA{1, 2, 3, 255})}
	cases := []struct {
		name    string
		tiles   []Tile
		cols    int
		size    int
		wantErr string
	}{
		{"no tiles", nil, 4, 64, "no tiles"},
		{"zero cols", []Tile{ok}, 0, 64, "cols = 0"},
		{"tiny tiles", []Tile{ok}, 1, 2, "tile size 2"},
		{"nil image", []Tile{ok, {}}, 2, 64, "tile 1 has no image"},
		{"empty image", []Tile{{Image: image.NewRGBA(image.Rect(0, 0, 0, 5))}}, 1, 64, "tile 0 has an empty image"},
		{"huge", []Tile{ok, ok}, 2, 1 << 15, "too large"},
	}
	for _, c := range cases {
		img, err := ContactSheet(c.tiles, c.cols, c.size, "")
		if err == nil || img != nil {
			t.Errorf("%s: want an error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.wantErr)
		}
	}
}

func TestSavePNGRoundTrip(t *testing.T) {
	_, _, sheet, _ := sampleSheet(t, 5, 3, 64)
	dir := t.TempDir()
	path := filepath.Join(dir, "sheet.png")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SavePNG(path, sheet); err != nil { // replaces the old file
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	if got.Bounds() != sheet.Bounds() {
		t.Fatalf("decoded size %v, want %v", got.Bounds(), sheet.Bounds())
	}
	for y := sheet.Bounds().Min.Y; y < sheet.Bounds().Max.Y; y++ {
		for x := sheet.Bounds().Min.X; x < sheet.Bounds().Max.X; x++ {
			if a, b := color.RGBAModel.Convert(got.At(x, y)), sheet.RGBAAt(x, y); a != b {
				t.Fatalf("pixel (%d,%d): decoded %v, wrote %v", x, y, a, b)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after SavePNG, want only sheet.png (temporary file left?)", len(entries))
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (err %v), want 0644", st.Mode().Perm(), err)
	}

	b, err := PNGBytes(sheet)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != sheet.Bounds().Dx() || cfg.Height != sheet.Bounds().Dy() {
		t.Errorf("PNGBytes: config %+v, err %v", cfg, err)
	}

	// Failures name the path and leave nothing behind.
	bad := filepath.Join(dir, "missing", "x.png")
	if err := SavePNG(bad, sheet); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("SavePNG into a missing directory: %v, want an error naming %s", err, bad)
	}
	if err := SavePNG(filepath.Join(dir, "nil.png"), nil); err == nil {
		t.Error("SavePNG(nil image): want an error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries after failed saves, want 1", len(entries))
	}
}

func BenchmarkContactSheet64(b *testing.B) {
	for b.Loop() {
		sampleSheet(b, 64, 8, 192)
	}
}
