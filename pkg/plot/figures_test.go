package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// pixelStats returns the standard deviation of the luminance of img and
// the fraction of pixels that are not (near) white.
func pixelStats(img image.Image) (sd, inked float64) {
	b := img.Bounds()
	var sum, sum2 float64
	var n, ink int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			sum += l
			sum2 += l * l
			n++
			if l < 240 {
				ink++
			}
		}
	}
	mean := sum / float64(n)
	return math.Sqrt(max(0, sum2/float64(n)-mean*mean)), float64(ink) / float64(n)
}

// checkSVG parses data as XML and checks the root is an <svg> element of
// the figure's size in points.
func checkSVG(t *testing.T, name string, data []byte, f *Figure) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var root *xml.StartElement
	var texts, paths int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: SVG does not parse as XML: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == nil {
				se := se.Copy()
				root = &se
			}
			switch se.Name.Local {
			case "text":
				texts++
			case "path":
				paths++
			}
		}
	}
	if root == nil || root.Name.Local != "svg" {
		t.Fatalf("%s: SVG root element is %v, want svg", name, root)
	}
	var width string
	for _, a := range root.Attr {
		if a.Name.Local == "width" {
			width = a.Value
		}
	}
	if w, err := strconv.ParseFloat(strings.TrimSuffix(width, "pt"), 64); err != nil || math.Abs(w-float64(f.Width)) > 0.01 {
		t.Errorf("%s: SVG width %q, want %.2fpt", name, width, float64(f.Width))
	}
	if texts < 5 || paths < 10 {
		t.Errorf("%s: SVG has %d text and %d path elements, want a real figure", name, texts, paths)
	}
	if bytes.Contains(data, []byte("image/jpg;base64,iVBOR")) {
		t.Errorf("%s: SVG still labels PNG data as JPEG", name)
	}
}

// TestFiguresRender renders every figure to PNG and SVG files and checks
// the PNG decodes at the figure's pixel size and is not blank, and the
// SVG is well-formed XML of the right size.
func TestFiguresRender(t *testing.T) {
	dir := t.TempDir()
	figs := exampleFigures(t)
	names := make([]string, 0, len(figs))
	for name := range figs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f := figs[name]
		stem := filepath.Join(dir, name)
		if err := f.SaveAll(stem); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data, err := os.ReadFile(stem + ".png")
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: PNG does not decode: %v", name, err)
		}
		w, h := f.PixelSize()
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Errorf("%s: PNG is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), w, h)
		}
		if w < 600 || h < 500 { // 4 x 3.3 inches at 150 dpi
			t.Errorf("%s: default size %dx%d px is too small for a slide", name, w, h)
		}
		sd, inked := pixelStats(img)
		if sd < 20 || inked < 0.01 {
			t.Errorf("%s: PNG looks blank: luminance sd %.1f, %.2f%% of pixels inked", name, sd, 100*inked)
		}
		t.Logf("%-10s %4dx%4d px (%.1fx%.1f in), luminance sd %.0f, %.1f%% inked, PNG %d kB",
			name, w, h, float64(f.Width/vg.Inch), float64(f.Height/vg.Inch), sd, 100*inked, len(data)/1024)
		svg, err := os.ReadFile(stem + ".svg")
		if err != nil {
			t.Fatal(err)
		}
		checkSVG(t, name, svg, f)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2*len(figs) {
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		t.Errorf("directory holds %v, want only the %d figure files", got, 2*len(figs))
	}
}

// TestBlankIsDetected makes sure the blankness criterion of
// TestFiguresRender can fail.
func TestBlankIsDetected(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 100, 80))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	if sd, inked := pixelStats(img); sd >= 20 || inked >= 0.01 {
		t.Errorf("white image: sd %v, inked %v; the blank test cannot fail", sd, inked)
	}
}

// TestRequestedSize checks that Width, Height and DPI set the PNG size.
func TestRequestedSize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s, tr := synthPosterior(r, 500)
	f, err := Marginals(s[:2], tr[:2], LensParams()[:2], MarginalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.Width, f.Height = 7*vg.Inch, 3.5*vg.Inch
	f.Style.DPI = 96
	img, err := f.Image()
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 672 || b.Dy() != 336 {
		t.Errorf("image %v, want 672x336", b)
	}
	if w, h := f.PixelSize(); w != 672 || h != 336 {
		t.Errorf("PixelSize %dx%d, want 672x336", w, h)
	}
}

// TestSaveOverwritesAndRejectsUnknownFormat checks Save's file handling.
func TestSaveOverwritesAndRejectsUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	ep := []float64{1, 2, 3, 4}
	f, err := LossCurves(ep, []float64{4, 3, 2, 1.5}, []float64{4.2, 3.1, 2.3, 2}, nil, LossOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "loss.png")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Errorf("existing file not replaced by a PNG: %v", err)
	}
	if err := f.Save(filepath.Join(dir, "loss.jpeg")); err == nil || !strings.Contains(err.Error(), "want .png or .svg") {
		t.Errorf("unknown extension: err = %v", err)
	}
	missing := filepath.Join(dir, "no", "such", "dir", "loss.svg")
	if err := f.Save(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing directory: err = %v, want one naming the path", err)
	}
	if err := f.Save(filepath.Join(dir, "LOSS.SVG")); err != nil {
		t.Errorf("upper-case extension: %v", err)
	}
}

// vermillionColumns returns the mean x of the truth-coloured pixels.
func vermillionColumns(img image.Image) (meanX float64, n int) {
	b := img.Bounds()
	var sum float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, 0xD5) && near(g>>8, 0x5E) && near(bl>>8, 0x00) {
				sum += float64(x)
				n++
			}
		}
	}
	return sum / float64(max(n, 1)), n
}

func near(a uint32, b int) bool { return math.Abs(float64(a)-float64(b)) <= 12 }

// TestMarginalTruthPosition checks that the truth line lands where the
// value maps on the x axis: for samples N(0, 1) and truths -1, 0 and 2
// (all inside the plotted range, which therefore does not change) the
// line positions are increasing and linear in the value.
func TestMarginalTruthPosition(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := make([]float64, 20000)
	for i := range s {
		s[i] = r.NormFloat64()
	}
	truths := []float64{-1, 0, 2}
	xs := make([]float64, len(truths))
	for k, tr := range truths {
		f, err := Marginals([][]float64{s}, []float64{tr}, []Param{{Symbol: "x", Unit: "arcsec"}}, MarginalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f.Legend = nil // the legend has a vermillion swatch too
		img, err := f.Image()
		if err != nil {
			t.Fatal(err)
		}
		x, n := vermillionColumns(img)
		if n < 100 {
			t.Fatalf("truth %v: only %d truth-coloured pixels", tr, n)
		}
		xs[k] = x
	}
	if !(xs[0] < xs[1] && xs[1] < xs[2]) {
		t.Fatalf("truth lines at x = %.1f, want increasing", xs)
	}
	if ratio := (xs[2] - xs[1]) / (xs[1] - xs[0]); math.Abs(ratio-2) > 0.05 {
		t.Errorf("truth lines at x = %.1f: spacing ratio %.3f, want 2 (linear axis)", xs, ratio)
	}
}

// TestInputErrors checks that bad input gives clear errors.
func TestInputErrors(t *testing.T) {
	nan := math.NaN()
	good := [][]float64{{1, 2, 3}, {4, 5, 6}}
	two := LensParams()[:2]
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"marginals empty", func() error { _, err := Marginals(nil, nil, nil, MarginalOptions{}); return err }, "samples is empty"},
		{"marginals labels", func() error { _, err := Marginals(good, nil, LensParams(), MarginalOptions{}); return err }, "4 parameter labels for 2 sample sets"},
		{"marginals NaN", func() error {
			_, err := Marginals([][]float64{{1, nan, 3}, {1, 2, 3}}, nil, two, MarginalOptions{})
			return err
		}, "samples[0] (θ_E)[1] = NaN"},
		{"marginals truth len", func() error { _, err := Marginals(good, []float64{1}, two, MarginalOptions{}); return err }, "truth has 1 values, want 2"},
		{"marginals truth Inf", func() error {
			_, err := Marginals(good, []float64{1, math.Inf(1)}, two, MarginalOptions{})
			return err
		}, "truth[1] = +Inf"},
		{"marginals one sample", func() error {
			_, err := Marginals([][]float64{{1}, {2, 3}}, nil, two, MarginalOptions{})
			return err
		}, "has 1 samples, want at least 2"},
		{"corner unequal", func() error {
			_, err := Corner([][]float64{{1, 2, 3}, {1, 2}}, nil, two, CornerOptions{})
			return err
		}, "joint posterior needs equal counts"},
		{"corner bins", func() error { _, err := Corner(good, nil, two, CornerOptions{Bins: -3}); return err }, "Bins = -3"},
		{"recovery lengths", func() error {
			_, err := Recovery(good, [][]float64{{1, 2, 3}, {1, 2}}, good, good, two, RecoveryOptions{})
			return err
		}, "median[1] (z_{lens}) has 2 values, want 3"},
		{"recovery counts", func() error { _, err := Recovery(good, good, good, good[:1], two, RecoveryOptions{}); return err }, "parameter counts differ"},
		{"recovery lo>hi", func() error {
			_, err := Recovery(good, good, [][]float64{{1, 2, 9}, {4, 5, 6}}, good, two, RecoveryOptions{})
			return err
		}, "lens 2, θ_E: lo = 9 > hi = 3"},
		{"sbc lengths", func() error {
			_, err := SBCRanks([]RankHist{{Label: "θ_E", Counts: []float64{1, 2}, Lo: []float64{0}, Hi: []float64{3, 3}}}, SBCOptions{})
			return err
		}, "hists[0] (θ_E).Lo has 1 values, want 2"},
		{"sbc negative", func() error {
			_, err := SBCRanks([]RankHist{{Label: "a", Counts: []float64{1, -2}, Lo: []float64{0, 0}, Hi: []float64{3, 3}}}, SBCOptions{})
			return err
		}, "Counts[1] = -2, want >= 0"},
		{"sbc empty", func() error { _, err := SBCRanks(nil, SBCOptions{}); return err }, "no rank histograms"},
		{"coverage NaN", func() error {
			_, err := Coverage([]float64{0, 0.5, 1}, []CoverageCurve{{Label: "a", Coverage: []float64{0, nan, 1}}}, nil, nil, CoverageOptions{})
			return err
		}, "curves[0] (a).Coverage[1] = NaN"},
		{"coverage range", func() error {
			_, err := Coverage([]float64{0, 0.5, 1.2}, []CoverageCurve{{Label: "a", Coverage: []float64{0, 0.5, 1}}}, nil, nil, CoverageOptions{})
			return err
		}, "levels[2] = 1.2, want a value in [0, 1]"},
		{"coverage band", func() error {
			_, err := Coverage([]float64{0, 1}, []CoverageCurve{{Label: "a", Coverage: []float64{0, 1}}}, []float64{0, 1}, nil, CoverageOptions{})
			return err
		}, "band needs both lo and hi"},
		{"tarp lengths", func() error {
			_, err := TARP([]TARPCurve{{Label: "npe", Alpha: []float64{0, 0.5, 1}, ECP: []float64{0, 1}}}, CoverageOptions{})
			return err
		}, "curves[0] (npe).ECP has 2 values, want 3"},
		{"loss lengths", func() error {
			_, err := LossCurves([]float64{1, 2, 3}, []float64{1, 2}, nil, nil, LossOptions{})
			return err
		}, "train has 2 values, want 3"},
		{"loss NaN", func() error {
			_, err := LossCurves([]float64{1, 2, 3}, []float64{1, 2, 3}, []float64{1, nan, 3}, nil, LossOptions{})
			return err
		}, "val[1] = NaN"},
		{"loss empty", func() error { _, err := LossCurves(nil, nil, nil, nil, LossOptions{}); return err }, "epochs is empty"},
		{"loss order", func() error {
			_, err := LossCurves([]float64{1, 3, 2}, []float64{1, 2, 3}, nil, nil, LossOptions{})
			return err
		}, "epochs must increase"},
		{"loss log", func() error {
			_, err := LossCurves([]float64{1, 2}, []float64{1, -2}, nil, nil, LossOptions{LogLoss: true})
			return err
		}, "LogLoss needs positive losses, train[1] = -2"},
		{"style", func() error {
			_, err := Marginals(good, nil, two, MarginalOptions{Style: Style{LabelSize: -1}})
			return err
		}, "LabelSize = -1"},
		{"figure rows", func() error {
			f := &Figure{Panels: [][]*gplot.Plot{{nil, nil}, {nil}}, Width: 100, Height: 100}
			return f.Save(filepath.Join(t.TempDir(), "x.png"))
		}, "panel row 1 has 1 columns, row 0 has 2"},
	}
	for _, c := range cases {
		err := c.err()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, c.want)
		}
	}
}

// TestDegenerateInputs renders inputs with no spread without failing.
func TestDegenerateInputs(t *testing.T) {
	flat := [][]float64{{2, 2, 2, 2}, {0.5, 0.5, 0.5, 0.5}}
	two := LensParams()[:2]
	f, err := Marginals(flat, []float64{2, 0.5}, two, MarginalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Image(); err != nil {
		t.Fatal(err)
	}
	f, err = Corner(flat, nil, two, CornerOptions{Bins: 8})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Image(); err != nil {
		t.Fatal(err)
	}
	f, err = LossCurves([]float64{1}, []float64{0.3}, []float64{0.4}, []float64{1e-3}, LossOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Image(); err != nil {
		t.Fatal(err)
	}
}

// TestEvenSubset checks the subsample used for error bars and points.
func TestEvenSubset(t *testing.T) {
	for _, c := range []struct{ n, m, want int }{{3000, 40, 40}, {10, 40, 10}, {5, 0, 0}, {7, 7, 7}} {
		idx := evenSubset(c.n, c.m)
		if len(idx) != c.want {
			t.Errorf("evenSubset(%d, %d) has %d indices, want %d", c.n, c.m, len(idx), c.want)
			continue
		}
		for j := 1; j < len(idx); j++ {
			if idx[j] <= idx[j-1] || idx[j] >= c.n {
				t.Errorf("evenSubset(%d, %d) = %v: not increasing within [0, n)", c.n, c.m, idx)
				break
			}
		}
		// Evenly spread: the largest gap is at most twice the mean gap.
		if len(idx) > 1 {
			gap := 0
			for j := 1; j < len(idx); j++ {
				gap = max(gap, idx[j]-idx[j-1])
			}
			if float64(gap) > 2*float64(c.n)/float64(len(idx)) {
				t.Errorf("evenSubset(%d, %d): largest gap %d", c.n, c.m, gap)
			}
		}
	}
}

// TestEfficiencyInputs: mismatched lengths and too few usable lenses are
// errors; unusable lenses are left out and counted, not plotted.
func TestEfficiencyInputs(t *testing.T) {
	if _, err := Efficiency([]float64{1, 2}, []float64{1}, EfficiencyOptions{}); err == nil || !strings.Contains(err.Error(), "2 bounds but 1 widths") {
		t.Errorf("mismatched lengths: %v", err)
	}
	inf := math.Inf(1)
	if _, err := Efficiency([]float64{inf, 0.1, math.NaN()}, []float64{0.1, -1, 0.1}, EfficiencyOptions{}); err == nil || !strings.Contains(err.Error(), "0 of 3") {
		t.Errorf("no usable lens: %v", err)
	}
	f, err := Efficiency([]float64{0.01, 0.02, inf, 0.04}, []float64{0.05, 0.04, 0.05, 0.05}, EfficiencyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pts := f.Panels[0][0]; pts == nil {
		t.Fatal("no panel")
	}
	var buf bytes.Buffer
	if err := f.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "1 without a bound") || !strings.Contains(buf.String(), "N = 3") {
		t.Error("the note should count 3 lenses and 1 without a bound")
	}
	// One enormous bound among 400 ordinary lenses is pinned to the edge.
	var b, w []float64
	for k := range 400 {
		b, w = append(b, 0.01+0.0001*float64(k)), append(w, 0.05)
	}
	b[7] = 1e4
	f, err = Efficiency(b, w, EfficiencyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pl := f.Panels[0][0]; pl.X.Max > 1 {
		t.Errorf("x axis reaches %g: the outlier should not set the range", pl.X.Max)
	}
	buf.Reset()
	if err := f.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "1 beyond the axes") {
		t.Error("the note should count the pinned lens")
	}
}
