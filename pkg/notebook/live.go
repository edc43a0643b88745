package notebook

import (
	"fmt"
	"html"
	"math"
	"sync"
	"time"

	"github.com/lenssbi/lenssbi/pkg/plot"
)

// ProgressBar is an HTML progress bar redrawn in place in one cell output.
// Its Update method has the signature of simulate.Progress, so
// sim.Run(ctx, 0, n, 0, emit, bar.Update) shows the progress of a run.
// Redraws are throttled to about ten a second; the final one (done == total)
// is always drawn and flushed to the kernel. It is safe for concurrent use.
type ProgressBar struct {
	label string
	id    string

	mu   sync.Mutex
	t0   time.Time
	last time.Time
}

// NewProgressBar returns a bar titled label (escaped); nothing is shown until
// the first Update.
func NewProgressBar(label string) *ProgressBar {
	return &ProgressBar{label: label, id: "lenssbi-progress-" + newUniqueID()}
}

// Update redraws the bar for done of total items, with the rate and the
// estimated time left.
func (p *ProgressBar) Update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.t0.IsZero() {
		p.t0 = now
	}
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	if inNotebook() {
		updateHTML(p.id, progressHTML(p.label, done, total, now.Sub(p.t0)))
		if done >= total {
			syncOut() // the final state must reach the kernel before the program exits
		}
	}
}

// progressHTML renders the bar; exported behaviour is tested through it.
func progressHTML(label string, done, total int, elapsed time.Duration) string {
	frac := 0.0
	if total > 0 {
		frac = math.Min(1, math.Max(0, float64(done)/float64(total)))
	}
	status := fmt.Sprintf("%d/%d", done, total)
	if s := elapsed.Seconds(); s > 0 && done > 0 {
		rate := float64(done) / s
		status += fmt.Sprintf(" · %.0f/s", rate)
		if done < total {
			status += fmt.Sprintf(" · %.0fs left", float64(total-done)/rate)
		} else {
			status += fmt.Sprintf(" · %.1fs", s)
		}
	}
	return fmt.Sprintf(`<div style="font-family:sans-serif">%s `+
		`<progress value="%d" max="1000" style="width:40%%"></progress> %.0f%% <small>%s</small></div>`,
		html.EscapeString(label), int(math.Round(frac*1000)), 100*frac, html.EscapeString(status))
}

// LossMonitor shows training and validation loss curves (plot.LossCurves)
// and a status line, redrawn in place in one cell output: the plot after
// every epoch, the status line (epoch, batch, running loss, speed) at most
// every half second within an epoch. Feed it with Observe, or through
// npeview.OnProgress for npe.TrainOptions.OnProgress. It is safe for
// concurrent use.
type LossMonitor struct {
	opt plot.LossOptions
	id  string

	mu                     sync.Mutex
	epochs, train, val, lr []float64
	img                    string // last plot, as an <img> tag
	last                   time.Time
	err                    error
}

// NewLossMonitor returns a monitor drawing with opt (the zero value gives
// plot.LossCurves' defaults); nothing is shown until the first Observe.
func NewLossMonitor(opt plot.LossOptions) *LossMonitor {
	return &LossMonitor{opt: opt, id: "lenssbi-loss-" + newUniqueID()}
}

// Observe records one progress report: epoch of epochs (1-based), the
// running training loss, the validation loss (NaN when not known), the
// learning rate, the speed in images per second (0: unknown), and whether
// the epoch is complete. Completed epochs are added to the curves.
func (m *LossMonitor) Observe(epoch, epochs, batch, batches int, trainLoss, valLoss, lr, imagesPerSec float64, epochDone bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if epochDone {
		m.epochs = append(m.epochs, float64(epoch))
		m.train = append(m.train, trainLoss)
		m.val = append(m.val, valLoss)
		m.lr = append(m.lr, lr)
		if err := m.redrawLocked(); err != nil {
			m.err = err
		}
	} else if now.Sub(m.last) < 500*time.Millisecond {
		return
	}
	m.last = now
	status := fmt.Sprintf("epoch %d/%d", epoch, epochs)
	if !epochDone && batches > 0 {
		status += fmt.Sprintf(" · batch %d/%d", batch, batches)
	}
	status += fmt.Sprintf(" · train %.4g", trainLoss)
	if !math.IsNaN(valLoss) && epochDone {
		status += fmt.Sprintf(" · val %.4g", valLoss)
	}
	if imagesPerSec > 0 {
		status += fmt.Sprintf(" · %.0f img/s", imagesPerSec)
	}
	if inNotebook() {
		updateHTML(m.id, `<div style="font-family:sans-serif">`+html.EscapeString(status)+"</div>"+m.img)
		if epochDone {
			syncOut()
		}
	}
}

func (m *LossMonitor) redrawLocked() error {
	if len(m.epochs) < 2 || !inNotebook() {
		return nil // LossCurves needs two points to span an axis
	}
	val := m.val
	for _, v := range val {
		if math.IsNaN(v) {
			val = nil // no validation set
			break
		}
	}
	f, err := plot.LossCurves(m.epochs, m.train, val, m.lr, m.opt)
	if err != nil {
		return fmt.Errorf("notebook: loss plot at epoch %g: %w", m.epochs[len(m.epochs)-1], err)
	}
	data, err := figurePNG(f)
	if err != nil {
		return err
	}
	m.img = ImgTag(data, "loss curves")
	return nil
}

// Curves returns copies of the recorded epochs, training and validation
// losses and learning rates.
func (m *LossMonitor) Curves() (epochs, train, val, lr []float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := func(s []float64) []float64 { return append([]float64(nil), s...) }
	return c(m.epochs), c(m.train), c(m.val), c(m.lr)
}

// Err returns the first error met while drawing the plot, if any.
func (m *LossMonitor) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}
