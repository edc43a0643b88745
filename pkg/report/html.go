package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/npe"
)

// cardRow is one line of the model summary at the top of the page.
type cardRow struct{ Key, Value string }

// lensBlock groups the figures of one chosen lens.
type lensBlock struct {
	Lens                     int
	Image, Marginals, Corner *Figure
}

type pageData struct {
	R           *Report
	Title       string
	Header      string
	Summary     string
	Calibrated  bool
	Criteria    string
	Definitions string
	Card        []cardRow
	Results     []resultRow
	CalRows     []calRow
	Verdicts    []Verdict
	Notes       []string
	Results1    []*Figure // results section
	Calib       []*Figure
	Training    []*Figure
	Lenses      []lensBlock
	Sheet       []*Figure
	CalText     string
	Footer      string
}

type resultRow struct{ Label, Precision, Deviation, R2 string }

type calRow struct {
	Label, Chi2P, KSP, Bias, Spread, Cov, CovP string
	OK                                         bool
}

// HTML returns index.html: every table and figure of the report on one
// page with captions, linking only to the report's own files.
func (r *Report) HTML() ([]byte, error) {
	c, st := r.Card, r.Card.State
	modeDesc := map[string]string{npe.ModeMarginal: "one embedding and 1-D spline flow per parameter (marginal posteriors)", npe.ModeJoint: "one embedding and a joint spline flow over all parameters"}[c.Config.Mode]
	trainData := fmt.Sprintf("%s (preset %s, seed %d; %s): %d training and %d validation lenses, %d×%d pixels, bands %s",
		c.Data.Train, c.Data.Preset, c.Data.Seed, c.Data.SimVersionText(), c.Data.NTrain, c.Data.NVal, c.NX, c.NY, strings.Join(c.Bands, " "))
	if c.Data.Validation != "" {
		trainData += "; validation: " + c.Data.Validation
	}
	epochs := fmt.Sprintf("%d", st.Epoch)
	if st.StopReason != "" {
		epochs += " (" + st.StopReason + ")"
	}
	if st.BestEpoch > 0 {
		epochs += fmt.Sprintf("; best validation loss %.4f at epoch %d", st.BestValLoss, st.BestEpoch)
	}
	if len(c.Components) > 0 {
		epochs = c.EpochsText() + " (networks trained separately, then combined)"
	}
	machine := st.Machine
	if st.Backend != "" {
		machine += ", " + st.Backend + " backend"
	}
	m := r.Meta
	d := pageData{
		R:           r,
		Title:       fmt.Sprintf("%s on %s", r.Options.Model, r.Options.Data),
		Header:      capitalise(r.Header()) + ".",
		Summary:     r.Summary(),
		Calibrated:  r.Calibrated(),
		Criteria:    r.Criteria(),
		Definitions: Definitions(),
		Card: []cardRow{
			{"Model", r.Options.Model},
			{"Mode", c.Config.Mode + ": " + modeDesc},
			{"Targets", strings.Join(c.Config.Targets, ", ")},
			{"Training data", trainData},
			{"Architecture", c.Config.Summary()},
			{"Epochs", epochs},
			{"Training", fmt.Sprintf("batch %d, Adam learning rate %g (cosine decay), clip norm %g, seed %d", c.Config.BatchSize, c.Config.LearningRate, c.Config.ClipNorm, c.Config.Seed)},
			{"Training time", trainingTime(c)},
			{"Posterior widths", widthCalibration(c)},
			{"Machine", machine},
			{"Model version", "lenssbi " + c.Version},
			{"Test set", fmt.Sprintf("%s (preset %s, seed %d): lenses %d to %d of %d×%d pixels, bands %s",
				r.Options.Data, m.Preset, m.Seed, r.Options.First, r.Options.First+r.Posterior.N-1, m.NX, m.NY, strings.Join(m.Bands, " "))},
		},
		Verdicts: append([]Verdict(nil), r.Verdicts...),
		Notes:    r.Notes,
		CalText:  r.Calibration.Report(),
		Footer:   fmt.Sprintf("Written by lenssbi %s on %s UTC.", r.Version, r.Created.Format("2006-01-02 15:04:05")),
	}
	if r.Joint != nil {
		d.Verdicts = append(d.Verdicts, *r.Joint)
	}
	for _, p := range r.Results {
		d.Results = append(d.Results, resultRow{p.Label, pct(p.MedianPrecision), pct(p.MedianFractionalDeviation), fmt.Sprintf("%.3f", p.R2)})
	}
	for k, p := range r.Calibration.Params {
		d.CalRows = append(d.CalRows, calRow{Label: r.Verdicts[k].Label, Chi2P: fmt.Sprintf("%.3g", p.SBCChi2P), KSP: fmt.Sprintf("%.3g", p.SBCKSP),
			Bias: fmt.Sprintf("%+.3f (z = %.1f)", p.RankBias, p.RankBiasZ), Spread: fmt.Sprintf("%.2f (z = %.1f)", p.RankSpread, p.RankSpreadZ),
			Cov: fmt.Sprintf("%+.1f pp at %.0f%%", p.CoverageMaxDevPP, 100*p.CoverageMaxDevLevel), CovP: fmt.Sprintf("%.3g", p.CoverageP), OK: r.Verdicts[k].Calibrated})
	}
	blocks := map[int]*lensBlock{}
	var order []int
	for i := range r.Figures {
		f := &r.Figures[i]
		switch f.Section {
		case "results":
			d.Results1 = append(d.Results1, f)
		case "calibration":
			d.Calib = append(d.Calib, f)
		case "training":
			d.Training = append(d.Training, f)
		case "sheet":
			d.Sheet = append(d.Sheet, f)
		case "lenses":
			b := blocks[f.Lens]
			if b == nil {
				b = &lensBlock{Lens: f.Lens}
				blocks[f.Lens] = b
				order = append(order, f.Lens)
			}
			switch {
			case strings.HasSuffix(f.Name, "-image"):
				b.Image = f
			case strings.HasSuffix(f.Name, "-marginals"):
				b.Marginals = f
			case strings.HasSuffix(f.Name, "-corner"):
				b.Corner = f
			}
		}
	}
	for _, l := range order {
		d.Lenses = append(d.Lenses, *blocks[l])
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("index.html: %w", err)
	}
	return buf.Bytes(), nil
}

// displayWidth is the width in CSS pixels a figure is shown at: half the
// pixels of a plot (rendered at 150 dpi, so text appears at about its point
// size on a 96 dpi screen and sharp on a high-density one), the full width of
// a raster image.
func displayWidth(f *Figure) int {
	switch {
	case f.Plot != nil:
		w, _ := f.Plot.PixelSize()
		return (w + 1) / 2
	case f.Image != nil:
		return f.Image.Bounds().Dx()
	}
	return 0
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{"width": displayWidth}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>lenssbi report: {{.Title}}</title>
<style>
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; color: #1a1a1a; background: #fff; margin: 0; line-height: 1.45; }
main { max-width: 1260px; margin: 0 auto; padding: 1.5em 2em 3em; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.3em; }
h2 { font-size: 1.35em; border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.1em; margin: 1.4em 0 0.4em; }
nav { font-size: 0.95em; margin: 0.6em 0 1em; }
nav a { margin-right: 1.1em; }
a { color: #0060a8; }
.lede { color: #444; margin: 0 0 0.8em; }
.verdict { padding: 0.7em 1em; border-left: 6px solid; margin: 1em 0; background: #f6f6f6; }
.verdict.ok { border-color: #009e73; }
.verdict.bad { border-color: #d55e00; }
dl.card { display: grid; grid-template-columns: max-content 1fr; gap: 0.25em 1.2em; margin: 0.5em 0; }
dl.card dt { font-weight: bold; color: #333; }
dl.card dd { margin: 0; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #999; }
td.ok { color: #007a5a; font-weight: bold; }
td.bad { color: #b34700; font-weight: bold; }
ul.verdicts li { margin: 0.3em 0; }
ul.verdicts li.ok::marker { content: "✓  "; color: #009e73; }
ul.verdicts li.bad::marker { content: "✗  "; color: #d55e00; }
.note { color: #444; font-size: 0.95em; }
figure { margin: 1.2em 0; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e4e4e4; }
.figs { display: flex; flex-wrap: wrap; gap: 0 1.5em; align-items: flex-start; }
figcaption { font-size: 0.93em; color: #333; margin-top: 0.3em; max-width: 60em; }
.links { font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
footer { margin-top: 3em; font-size: 0.85em; color: #666; }
</style>
</head>
<body>
<main>
<h1>lenssbi report: {{.Title}}</h1>
<p class="lede">{{.Header}}</p>
<nav><a href="#model">Model</a><a href="#results">Results</a><a href="#calibration">Calibration</a>{{if .Training}}<a href="#training">Training</a>{{end}}{{if .Lenses}}<a href="#lenses">Example lenses</a>{{end}}{{if .Sheet}}<a href="#sheet">Contact sheet</a>{{end}}</nav>
<div class="verdict {{if .Calibrated}}ok{{else}}bad{{end}}">{{.Summary}}</div>

<h2 id="model">Model</h2>
<dl class="card">
{{range .Card}}<dt>{{.Key}}</dt><dd>{{.Value}}</dd>
{{end}}</dl>

<h2 id="results">Results</h2>
<table>
<thead><tr><th>Parameter</th><th>Median Precision</th><th>Median Fractional Deviation</th><th>R²</th></tr></thead>
<tbody>
{{range .Results}}<tr><td>{{.Label}}</td><td>{{.Precision}}</td><td>{{.Deviation}}</td><td>{{.R2}}</td></tr>
{{end}}</tbody>
</table>
<p class="note">{{.Definitions}}</p>
<p class="links">Table as <a href="results.md">Markdown</a> and <a href="results.csv">CSV</a>.</p>
<div class="figs">{{range .Results1}}{{template "fig" .}}{{end}}</div>

<h2 id="calibration">Calibration</h2>
<p>Criteria: {{.Criteria}}; for joint models TARP tests the joint posterior.</p>
<ul class="verdicts">
{{range .Verdicts}}<li class="{{if .Calibrated}}ok{{else}}bad{{end}}">{{.Sentence}}</li>
{{end}}</ul>
{{range .Notes}}<p class="note">Note: {{.}}</p>
{{end}}<table>
<thead><tr><th>Parameter</th><th>SBC χ² p</th><th>SBC KS p</th><th>Rank bias</th><th>Rank spread</th><th>Worst coverage deviation</th><th>Coverage p</th><th>Calibrated</th></tr></thead>
<tbody>
{{range .CalRows}}<tr><td>{{.Label}}</td><td>{{.Chi2P}}</td><td>{{.KSP}}</td><td>{{.Bias}}</td><td>{{.Spread}}</td><td>{{.Cov}}</td><td>{{.CovP}}</td><td class="{{if .OK}}ok{{else}}bad{{end}}">{{if .OK}}yes{{else}}no{{end}}</td></tr>
{{end}}</tbody>
</table>
<p class="links">Summary as <a href="calibration.md">Markdown</a> and <a href="calibration.csv">CSV</a>.</p>
<div class="figs">{{range .Calib}}{{template "fig" .}}{{end}}</div>
<pre>{{.CalText}}</pre>

{{if .Training}}<h2 id="training">Training</h2>
<div class="figs">{{range .Training}}{{template "fig" .}}{{end}}</div>{{end}}

{{if .Lenses}}<h2 id="lenses">Example lenses</h2>
{{range .Lenses}}<h3 id="lens-{{.Lens}}">Lens {{.Lens}}</h3>
<div class="figs">
{{with .Image}}{{template "fig" .}}{{end}}
{{with .Marginals}}{{template "fig" .}}{{end}}
{{with .Corner}}{{template "fig" .}}{{end}}
</div>
{{end}}{{end}}

{{if .Sheet}}<h2 id="sheet">Contact sheet</h2>
{{range .Sheet}}{{template "fig" .}}{{end}}{{end}}

<footer>{{.Footer}}</footer>
</main>
</body>
</html>
{{define "fig"}}<figure id="fig-{{.Name}}" style="width: {{width .}}px">
<a href="{{.Name}}.png"><img src="{{.Name}}.png" width="{{width .}}" alt="{{.Title}}"/></a>
<figcaption><b>{{.Title}}.</b> {{.Caption}} <span class="links">{{if and .Plot .SVG}}[<a href="{{.Name}}.png">PNG</a>, <a href="{{.Name}}.svg">SVG</a>]{{else}}[<a href="{{.Name}}.png">PNG</a>]{{end}}</span></figcaption>
</figure>
{{end}}`))

// trainingTime is the card's training-time entry: seconds and throughput, or
// for a combined model each network's seconds.
func trainingTime(c *npe.Card) string {
	st := c.State
	if len(c.Components) == 0 {
		return fmt.Sprintf("%.0f s, %.0f images/s", st.Seconds, st.ImagesPerSec)
	}
	var parts []string
	for i, p := range c.Components {
		if i > 0 && c.Components[i-1].From == p.From {
			parts[len(parts)-1] += ", " + p.Target
			continue
		}
		parts = append(parts, fmt.Sprintf("%.0f s: %s", p.Seconds, p.Target))
	}
	return fmt.Sprintf("%.0f s in all, networks trained separately (%s)", st.Seconds, strings.Join(parts, "; "))
}

// widthCalibration describes a model's noise calibration (npe.Calibrate).
func widthCalibration(c *npe.Card) string {
	nc := c.NoiseCalibration
	if nc == nil {
		return "as trained (no calibration)"
	}
	views := ""
	if nc.Views > 1 {
		views = fmt.Sprintf(", %d views", nc.Views)
	}
	return fmt.Sprintf("base-noise scale %s, fitted on %s (%d lenses, %d samples each%s)", nc.Text(c.Config.Targets), nc.Data, nc.N, nc.Samples, views)
}
