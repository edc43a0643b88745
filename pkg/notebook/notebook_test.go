package notebook

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lenssbi/lenssbi/pkg/plot"
)

// recorder captures what the helpers would send to a kernel.
type recorder struct {
	mu      sync.Mutex
	html    []string
	md      []string
	png     [][]byte
	updates map[string][]string
	syncs   int
}

// fakeKernel makes the package believe it runs in a notebook and records the
// outputs; the hooks are restored when the test ends.
func fakeKernel(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{updates: map[string][]string{}}
	oIn, oH, oM, oP, oU, oID, oS := inNotebook, showHTML, showMD, showPNG, updateHTML, newUniqueID, syncOut
	n := 0
	inNotebook = func() bool { return true }
	showHTML = func(s string) { r.mu.Lock(); r.html = append(r.html, s); r.mu.Unlock() }
	showMD = func(s string) { r.mu.Lock(); r.md = append(r.md, s); r.mu.Unlock() }
	showPNG = func(b []byte) { r.mu.Lock(); r.png = append(r.png, b); r.mu.Unlock() }
	updateHTML = func(id, s string) { r.mu.Lock(); r.updates[id] = append(r.updates[id], s); r.mu.Unlock() }
	newUniqueID = func() string { n++; return strings.Repeat("x", n) }
	syncOut = func() { r.mu.Lock(); r.syncs++; r.mu.Unlock() }
	t.Cleanup(func() {
		inNotebook, showHTML, showMD, showPNG, updateHTML, newUniqueID, syncOut = oIn, oH, oM, oP, oU, oID, oS
	})
	return r
}

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{200, 10, 20, 255})
	return img
}

func TestTableHTMLEscapesAndPads(t *testing.T) {
	got := TableHTML([]string{"name", "<b>"}, [][]string{{"a&b", `"q"`}, {"only"}, {"1", "2", "3"}})
	for _, want := range []string{
		"<th>name</th><th>&lt;b&gt;</th>",
		"<td>a&amp;b</td><td>&#34;q&#34;</td>",
		"<tr><td>only</td><td></td></tr>",
		"<td>1</td><td>2</td><td>3</td>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("TableHTML lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<b>") {
		t.Errorf("unescaped markup in table:\n%s", got)
	}
	if strings.Contains(TableHTML(nil, [][]string{{"x"}}), "<thead>") {
		t.Error("nil headers still produced a header row")
	}
}

func TestOutsideNotebookShowsNothing(t *testing.T) {
	if InNotebook() {
		t.Skip("running under a GoNB kernel")
	}
	// None of these may panic or fail outside a kernel.
	HTML("<p>x</p>")
	Markdown("# x")
	PNG([]byte{1, 2})
	Table([]string{"a"}, [][]string{{"b"}})
	if err := Image(testImage()); err != nil {
		t.Fatal(err)
	}
	bar := NewProgressBar("sim")
	for i := 0; i <= 10; i++ {
		bar.Update(i, 10)
	}
	m := NewLossMonitor(plot.LossOptions{})
	for e := 1; e <= 3; e++ {
		m.Observe(e, 3, 10, 10, 1/float64(e), 2/float64(e), 1e-3, 100, true)
	}
	if ep, _, _, _ := m.Curves(); len(ep) != 3 {
		t.Errorf("monitor recorded %d epochs, want 3", len(ep))
	}
}

func TestErrorsForNilInput(t *testing.T) {
	if err := Image(nil); err == nil {
		t.Error("Image(nil) returned no error")
	}
	if err := Figure(nil); err == nil {
		t.Error("Figure(nil) returned no error")
	}
}

func TestDisplaysInKernel(t *testing.T) {
	r := fakeKernel(t)
	Table([]string{"a"}, [][]string{{"<x>"}})
	Markdown("**m**")
	if err := Image(testImage()); err != nil {
		t.Fatal(err)
	}
	if len(r.html) != 1 || !strings.Contains(r.html[0], "&lt;x&gt;") {
		t.Errorf("table output %q", r.html)
	}
	if len(r.md) != 1 || r.md[0] != "**m**" {
		t.Errorf("markdown output %q", r.md)
	}
	if r.syncs != 3 {
		t.Errorf("%d flushes after 3 one-shot displays, want 3", r.syncs)
	}
	if len(r.png) != 1 {
		t.Fatalf("got %d PNG outputs, want 1", len(r.png))
	}
	img, err := png.Decode(bytes.NewReader(r.png[0]))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 3 || img.Bounds().Dy() != 2 {
		t.Errorf("decoded size %v", img.Bounds())
	}
	if c := color.RGBAModel.Convert(img.At(1, 1)).(color.RGBA); c.R != 200 || c.G != 10 {
		t.Errorf("pixel round trip gave %v", c)
	}
}

func TestProgressBarUpdatesInPlace(t *testing.T) {
	r := fakeKernel(t)
	bar := NewProgressBar("simulating <DELVE>")
	for i := 0; i <= 1000; i++ {
		bar.Update(i, 1000)
	}
	if r.syncs != 1 {
		t.Errorf("progress bar flushed %d times, want once (at the end)", r.syncs)
	}
	if len(r.updates) != 1 {
		t.Fatalf("bar used %d display ids, want 1", len(r.updates))
	}
	for _, u := range r.updates {
		// The first call and the final one are always drawn; the rest are
		// throttled, so a fast loop draws only a few times.
		if len(u) < 2 || len(u) > 20 {
			t.Errorf("%d redraws for 1001 fast updates", len(u))
		}
		last := u[len(u)-1]
		if !strings.Contains(last, `value="1000"`) || !strings.Contains(last, "100%") || !strings.Contains(last, "1000/1000") {
			t.Errorf("final state not drawn: %s", last)
		}
		if !strings.Contains(last, "simulating &lt;DELVE&gt;") {
			t.Errorf("label not escaped: %s", last)
		}
	}
}

func TestProgressHTMLClamps(t *testing.T) {
	if s := progressHTML("x", 5, 0, time.Second); !strings.Contains(s, `value="0"`) {
		t.Errorf("total 0: %s", s)
	}
	if s := progressHTML("x", 12, 10, time.Second); !strings.Contains(s, `value="1000"`) {
		t.Errorf("done > total not clamped: %s", s)
	}
	if s := progressHTML("x", 25, 100, 5*time.Second); !strings.Contains(s, "5/s") || !strings.Contains(s, "15s left") {
		t.Errorf("rate/ETA wrong: %s", s)
	}
}

func TestLossMonitorDrawsPlot(t *testing.T) {
	r := fakeKernel(t)
	m := NewLossMonitor(plot.LossOptions{})
	m.Observe(1, 3, 5, 10, 3, math.NaN(), 1e-3, 50, false) // mid-epoch: status only
	for e := 1; e <= 3; e++ {
		m.Observe(e, 3, 10, 10, 3/float64(e), 3.5/float64(e), 1e-3/float64(e), 50, true)
	}
	if err := m.Err(); err != nil {
		t.Fatal(err)
	}
	if r.syncs != 3 {
		t.Errorf("monitor flushed %d times, want 3 (once per epoch)", r.syncs)
	}
	if len(r.updates) != 1 {
		t.Fatalf("monitor used %d display ids, want 1", len(r.updates))
	}
	for _, u := range r.updates {
		if len(u) != 4 {
			t.Errorf("%d redraws, want 4 (1 status + 3 epochs)", len(u))
		}
		if strings.Contains(u[0], "<img") || !strings.Contains(u[0], "batch 5/10") {
			t.Errorf("mid-epoch update: %s", u[0])
		}
		last := u[len(u)-1]
		if !strings.Contains(last, "data:image/png;base64,") || !strings.Contains(last, "epoch 3/3") || !strings.Contains(last, "val 1.167") {
			t.Errorf("final update lacks plot or status: %.300s", last)
		}
	}
	ep, tr, val, lr := m.Curves()
	if len(ep) != 3 || tr[2] != 1 || val[0] != 3.5 || lr[1] != 5e-4 {
		t.Errorf("curves %v %v %v %v", ep, tr, val, lr)
	}
}
