package report

import (
	"bytes"
	"encoding/csv"
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
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/diagnostics"
	"github.com/lenssbi/lenssbi/pkg/npe"
)

var testNames = []string{"THETA_E", "Z_LENS", "SIGMA_V", "Z_SOURCE"}
var testUnits = []string{"arcsec", "", "km/s", ""}

// writeTestSet writes n lenses of 16x16 pixels in g r i z (a red Gaussian
// deflector and a blue ring of radius THETA_E) and returns the path and each
// lens's "observed" parameters mu, [n][4]. The true parameters are drawn
// from N(mu, (0.08 mu)^2), so that this normal distribution is the exact
// posterior of the truth given mu: fakePosterior with scale 1 and shift 0
// is calibrated for every test, TARP included.
func writeTestSet(t *testing.T, n int) (string, []float64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.fits")
	meta := dataset.Meta{Preset: "delve-seed", Seed: 5, H0: 70, Om0: 0.3, NX: 16, NY: 16, Bands: []string{"g", "r", "i", "z"}, PixScale: 0.263, Supersample: 1}
	var cols []dataset.Column
	for k, name := range testNames {
		cols = append(cols, dataset.Column{Name: name, Unit: testUnits[k]})
	}
	w, err := dataset.Create(path, meta, cols, n, dataset.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	img := make([]float32, 4*16*16)
	vr := make([]float32, len(img))
	mu := make([]float64, 0, 4*n)
	for range n {
		m := []float64{0.6 + 1.2*rng.Float64(), 0.2 + 0.6*rng.Float64(), 180 + 120*rng.Float64(), 1 + 2*rng.Float64()}
		mu = append(mu, m...)
		params := make([]float64, 4)
		for k := range params {
			params[k] = m[k] * (1 + 0.08*rng.NormFloat64())
		}
		rad := params[0] / 0.263
		for b := range 4 {
			red := []float64{0.2, 0.6, 1, 1.2}[b]
			blue := []float64{1, 0.7, 0.4, 0.3}[b]
			for y := range 16 {
				for x := range 16 {
					r := math.Hypot(float64(x)-7.5, float64(y)-7.5)
					v := 60*red*math.Exp(-r*r/4) + 8*blue*math.Exp(-(r-rad)*(r-rad)/1.5) + 0.3*rng.NormFloat64()
					img[b*256+y*16+x] = float32(v)
					vr[b*256+y*16+x] = 0.09
				}
			}
		}
		if err := w.Write(img, vr, params); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path, mu
}

// fakePosterior draws s samples per lens from N(mu + shift*sigma,
// (scale*sigma)^2) with sigma = 0.08 mu: the exact posterior for scale 1 and
// shift 0 (see writeTestSet), over-confident for scale < 1, biased high for
// shift > 0.
func fakePosterior(mu []float64, n, s int, scale, shift float64, seed uint64) *npe.Posterior {
	d := len(testNames)
	rng := rand.New(rand.NewPCG(seed, 9))
	p := &npe.Posterior{Names: testNames, Units: testUnits, N: n, S: s, D: d, Samples: make([]float32, n*s*d), Summaries: make([][]diagnostics.Summary, n)}
	col := make([]float64, s)
	for i := range n {
		p.Summaries[i] = make([]diagnostics.Summary, d)
		for k := range d {
			m := mu[i*d+k]
			sigma := 0.08 * m
			for j := range s {
				v := float32(m + shift*sigma + scale*sigma*rng.NormFloat64())
				p.Samples[(i*s+j)*d+k] = v
				col[j] = float64(v)
			}
			p.Summaries[i][k] = diagnostics.Summarize(col)
		}
	}
	return p
}

func testCard(mode string) *npe.Card {
	c := &npe.Card{Version: "test", Config: npe.DefaultConfig(mode), NX: 16, NY: 16, Bands: []string{"g", "r", "i", "z"},
		Data: npe.DataInfo{Train: "train.fits", Preset: "delve-seed", Seed: 3, NTrain: 900, NVal: 100}}
	c.State = npe.TrainState{Epoch: 4, BestEpoch: 4, BestValLoss: -1.5, StopReason: "reached 4 epochs", Seconds: 12, ImagesPerSec: 300, Machine: "test machine", Backend: "go"}
	for e := 1; e <= 4; e++ {
		c.State.History = append(c.State.History, npe.EpochRecord{Epoch: e, TrainLoss: 2 / float64(e), ValLoss: 2.2 / float64(e), LearningRate: 1e-3 / float64(e)})
	}
	return c
}

func openTestSet(t *testing.T, n int) (*dataset.Dataset, []float64) {
	t.Helper()
	path, mu := writeTestSet(t, n)
	ds, err := dataset.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds, mu
}

// TestVerdicts checks the calibration verdicts on posteriors of known
// quality: calibrated, over-confident (intervals a third of the right width)
// and biased (shifted up by one posterior width), and the results table
// against its definition.
func TestVerdicts(t *testing.T) {
	ds, mu := openTestSet(t, 1000)
	card := testCard(npe.ModeJoint)
	opt := Options{Lenses: []int{}, SheetLenses: -1}

	good, err := FromPosterior(card, fakePosterior(mu, 1000, 99, 1, 0, 1), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !good.Calibrated() {
		t.Errorf("calibrated posterior reported miscalibrated:\n%s", good.CalibrationMarkdown())
	}
	if !strings.Contains(good.Summary(), "All 4 parameters are calibrated") || !strings.Contains(good.Summary(), "TARP does not reject") {
		t.Errorf("summary %q", good.Summary())
	}
	if len(good.Notes) != 0 {
		t.Errorf("1000 lenses give a note on the coverage noise: %v", good.Notes)
	}
	// Results: the posterior width is 8% of mu, so the 68% half-width over
	// the median is ~0.08 (precision ~92%); the truth deviates from the
	// median by ~N(0, 0.08^2 + 0.08^2/S) relative, whose median absolute
	// value is 0.6745*0.0804 = 5.4%.
	for _, p := range good.Results {
		if math.Abs(p.MedianPrecision-0.92) > 0.01 || math.Abs(p.MedianFractionalDeviation-0.054) > 0.006 || p.N != 1000 {
			t.Errorf("%s: precision %.4f (want ~0.92), deviation %.4f (want ~0.054), N %d", p.Name, p.MedianPrecision, p.MedianFractionalDeviation, p.N)
		}
	}
	if got := good.Results[0].Label; got != "theta_E" {
		t.Errorf("label %q", got)
	}

	over, err := FromPosterior(card, fakePosterior(mu, 1000, 99, 1.0/3, 0, 2), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range over.Verdicts {
		if v.Calibrated || !strings.Contains(v.Sentence, "too narrow (over-confident)") || !strings.Contains(v.Sentence, v.Label+" is miscalibrated") {
			t.Errorf("over-confident %s: calibrated=%v %q", v.Name, v.Calibrated, v.Sentence)
		}
	}
	if over.Joint == nil || over.Joint.Calibrated || !strings.Contains(over.Summary(), "No parameter is calibrated") {
		t.Errorf("over-confident joint verdict %+v; summary %q", over.Joint, over.Summary())
	}

	biased, err := FromPosterior(card, fakePosterior(mu, 1000, 99, 1, 1, 3), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range biased.Verdicts {
		if v.Calibrated || !strings.Contains(v.Sentence, "overestimates") {
			t.Errorf("biased %s: calibrated=%v %q", v.Name, v.Calibrated, v.Sentence)
		}
	}
	md := biased.CalibrationMarkdown()
	for _, want := range []string{"p > 0.01", "±5 percentage points", "MISCALIBRATED THETA_E: biased", "| theta_E |"} {
		if !strings.Contains(md, want) {
			t.Errorf("calibration.md lacks %q", want)
		}
	}

	// A marginal model gets no TARP; a small test set gets the note.
	small, err := FromPosterior(testCard(npe.ModeMarginal), fakePosterior(mu[:100*4], 100, 39, 1, 0, 4), ds, opt)
	if err != nil {
		t.Fatal(err)
	}
	if small.Joint != nil || small.Calibration.TARP != nil || small.Figure("tarp") != nil {
		t.Error("marginal model got a TARP verdict or figure")
	}
	if len(small.Notes) != 1 || !strings.Contains(small.Notes[0], "100 test lenses") {
		t.Errorf("notes %v", small.Notes)
	}
}

// TestWrite writes a joint model's report and checks every file: PNGs that
// decode and are not blank, SVGs, the CSV tables, and an index.html that
// parses and links only to files of the report.
func TestWrite(t *testing.T) {
	ds, mu := openTestSet(t, 120)
	rep, err := FromPosterior(testCard(npe.ModeJoint), fakePosterior(mu, 120, 60, 1, 0, 1), ds,
		Options{Lenses: []int{0, 7}, SheetLenses: 10, Model: "models/tiny", Data: "test.fits"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out", "report")
	if err := rep.Write(dir, false); err != nil {
		t.Fatal(err)
	}
	files := checkReportDir(t, dir)
	for _, want := range []string{"recovery.png", "recovery.svg", "sbc.png", "coverage.svg", "tarp.png", "loss.png",
		"lens-0000-image.png", "lens-0007-marginals.svg", "lens-0007-corner.png", "lenses.png", "results.md", "calibration.md"} {
		if !slices.Contains(files, want) {
			t.Errorf("report lacks %s", want)
		}
	}
	if !slices.Equal(files, sorted(rep.Files())) {
		t.Errorf("directory holds %v,\nFiles() says %v", files, sorted(rep.Files()))
	}
	for _, f := range files {
		if !IsReportFile(f) {
			t.Errorf("%s is written but not recognised by IsReportFile", f)
		}
	}
	rows := readCSV(t, filepath.Join(dir, ResultsCSVFile))
	if len(rows) != 5 || rows[0][3] != "median_precision" || rows[1][0] != "THETA_E" {
		t.Errorf("results.csv: %v", rows)
	}
	if rows := readCSV(t, filepath.Join(dir, CalibrationCSVFile)); len(rows) != 5 {
		t.Errorf("calibration.csv has %d rows", len(rows))
	}
	md, _ := os.ReadFile(filepath.Join(dir, ResultsMarkdownFile))
	for _, want := range []string{"| Parameter | Median Precision | Median Fractional Deviation | R^2 |", "| sigma_v |", "68% central interval half-width"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, IndexFile))
	for _, want := range []string{"joint: one embedding", "train.fits (preset delve-seed, seed 3; simulator output version not recorded)", "reached 4 epochs", "test machine", "Lens 7", "calibrated within"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("index.html lacks %q", want)
		}
	}

	// No overwrite without force; nothing left behind.
	if err := rep.Write(dir, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second Write without force: %v", err)
	}
	// With force and a foreign file: the foreign file stays, stale report
	// files go, the rest is replaced.
	foreign := filepath.Join(dir, "notes.txt")
	os.WriteFile(foreign, []byte("mine"), 0o644)
	stale := filepath.Join(dir, "lens-0099-corner.png")
	os.WriteFile(stale, []byte("old"), 0o644)
	rep2, err := FromPosterior(testCard(npe.ModeMarginal), fakePosterior(mu, 120, 60, 1, 0, 1), ds, Options{Lenses: []int{}, SheetLenses: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := rep2.Write(dir, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("forced Write removed a file it does not own: %v", err)
	}
	for _, gone := range []string{stale, filepath.Join(dir, "tarp.png"), filepath.Join(dir, "lenses.png")} {
		if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale %s survived a forced Write (%v)", filepath.Base(gone), err)
		}
	}
	os.Remove(foreign)
	checkReportDir(t, dir)
	// Forced over a directory holding only report files: replaced whole.
	if err := rep.Write(dir, true); err != nil {
		t.Fatal(err)
	}
	if got := checkReportDir(t, dir); !slices.Equal(got, sorted(rep.Files())) {
		t.Errorf("after forced rewrite: %v", got)
	}
	noTemp(t, filepath.Dir(dir))
	// Forced into the working directory: files replaced in place, the
	// directory itself stays.
	t.Chdir(dir)
	if err := rep2.Write(".", true); err != nil {
		t.Fatal(err)
	}
	if got := checkReportDir(t, "."); !slices.Equal(got, sorted(rep2.Files())) {
		t.Errorf("after a forced Write into the working directory: %v", got)
	}
	noTemp(t, ".")
}

// TestWriteFailure checks that a failing Write leaves no directory and no
// temporary files behind, and that a file in the way is refused.
func TestWriteFailure(t *testing.T) {
	ds, mu := openTestSet(t, 40)
	rep, err := FromPosterior(testCard(npe.ModeMarginal), fakePosterior(mu, 40, 30, 1, 0, 1), ds, Options{Lenses: []int{}, SheetLenses: -1})
	if err != nil {
		t.Fatal(err)
	}
	rep.Figures = append(rep.Figures, Figure{Name: "broken"})
	parent := t.TempDir()
	dir := filepath.Join(parent, "rep")
	if err := rep.Write(dir, false); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("Write with a broken figure: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed Write left %s (%v)", dir, err)
	}
	noTemp(t, parent)
	file := filepath.Join(parent, "file")
	os.WriteFile(file, nil, 0o644)
	if err := rep.Write(file, true); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Write over a file: %v", err)
	}
}

// TestOptionErrors checks bad inputs are refused with a clear error.
func TestOptionErrors(t *testing.T) {
	ds, mu := openTestSet(t, 30)
	post := fakePosterior(mu, 30, 30, 1, 0, 1)
	for _, c := range []struct {
		opt  Options
		post *npe.Posterior
		want string
	}{
		{Options{Lenses: []int{30}}, post, "lens 30"},
		{Options{First: 5}, post, "not all in"},
		{Options{}, &npe.Posterior{Names: testNames, Units: testUnits, N: 30, S: 30, D: 4}, "holds 0 samples"},
	} {
		if _, err := FromPosterior(testCard(npe.ModeJoint), c.post, ds, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opt, err, c.want)
		}
	}
	if _, err := FromPosterior(nil, post, ds, Options{}); err == nil {
		t.Error("nil card accepted")
	}
}

// checkReportDir checks every file of a report directory and returns the
// sorted file names.
func checkReportDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil || len(data) == 0 {
			t.Errorf("%s: empty or unreadable (%v)", e.Name(), err)
			continue
		}
		switch filepath.Ext(e.Name()) {
		case ".png":
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Errorf("%s: %v", e.Name(), err)
			} else if f := inkFraction(img); f < 0.005 {
				t.Errorf("%s: blank (%.4f of pixels differ from the background)", e.Name(), f)
			}
		case ".svg":
			if !bytes.Contains(data, []byte("<svg")) || !bytes.Contains(data, []byte("</svg>")) {
				t.Errorf("%s: not an SVG document", e.Name())
			}
		}
	}
	for _, ref := range pageLinks(t, filepath.Join(dir, IndexFile)) {
		if strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") || strings.Contains(ref, "..") {
			t.Errorf("index.html: non-relative or external reference %q", ref)
			continue
		}
		if !slices.Contains(names, ref) {
			t.Errorf("index.html references %q, which the report lacks", ref)
		}
	}
	return names
}

// pageLinks parses an HTML page (as XML with HTML's rules for void elements
// and entities) and returns every src and href, except in-page anchors.
func pageLinks(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	var refs []string
	var imgs int
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parsing %s: %v", path, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "img":
			imgs++
		case "script", "iframe", "object", "embed":
			t.Errorf("index.html has a <%s> element", se.Name.Local)
		case "link":
			t.Error("index.html links an external resource")
		}
		for _, a := range se.Attr {
			if (a.Name.Local == "src" || a.Name.Local == "href") && !strings.HasPrefix(a.Value, "#") {
				refs = append(refs, a.Value)
			}
		}
	}
	if imgs == 0 {
		t.Error("index.html shows no image")
	}
	if bytes.Contains(data, []byte("url(")) || bytes.Contains(data, []byte("@import")) {
		t.Error("index.html's CSS loads a resource")
	}
	return refs
}

// inkFraction is the fraction of pixels whose colour differs from the
// top-left pixel's.
func inkFraction(img image.Image) float64 {
	b := img.Bounds()
	r0, g0, b0, _ := img.At(b.Min.X, b.Min.Y).RGBA()
	diff := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bb != b0 {
				diff++
			}
		}
	}
	return float64(diff) / float64(b.Dx()*b.Dy())
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary %s left in %s", e.Name(), dir)
		}
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
