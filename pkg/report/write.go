package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/diagnostics"
	"github.com/lenssbi/lenssbi/pkg/plot"
)

// Text files of a report, besides the figures.
const (
	IndexFile           = "index.html"
	ResultsMarkdownFile = "results.md"
	ResultsCSVFile      = "results.csv"
	CalibrationMDFile   = "calibration.md"
	CalibrationCSVFile  = "calibration.csv"
)

// reportFile matches the names of the files a report writes (Write with force
// replaces these and leaves every other file alone).
var reportFile = regexp.MustCompile(`^(index\.html|results\.(md|csv)|calibration\.(md|csv)|(recovery|efficiency|sbc|coverage|tarp|loss)\.(png|svg)|lenses\.png|lens-\d+-(image|marginals|corner)\.(png|svg))$`)

// IsReportFile reports whether name (a base name) is one of the files a
// report writes.
func IsReportFile(name string) bool { return reportFile.MatchString(name) }

// Files returns the names of the files Write creates, in page order.
func (r *Report) Files() []string {
	names := []string{IndexFile, ResultsMarkdownFile, ResultsCSVFile, CalibrationMDFile, CalibrationCSVFile}
	for i := range r.Figures {
		names = append(names, r.Figures[i].Files()...)
	}
	return names
}

// CheckDir returns an error when dir exists and is not an empty directory,
// unless force is set and dir is a directory: the check Write makes before
// it renders anything, for callers that want to fail before costly work.
func CheckDir(dir string, force bool) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("report directory: %w", err)
	case !st.IsDir():
		return fmt.Errorf("report directory %s exists and is not a directory", dir)
	case force:
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	if len(ents) > 0 {
		names := make([]string, 0, 3)
		for _, e := range ents[:min(3, len(ents))] {
			names = append(names, e.Name())
		}
		more := ""
		if len(ents) > 3 {
			more = fmt.Sprintf(" and %d more", len(ents)-3)
		}
		return fmt.Errorf("report directory %s is not empty (it holds %s%s); use --force to replace the report files in it", dir, strings.Join(names, ", "), more)
	}
	return nil
}

// Write renders the report into dir: the text files, every figure and
// index.html. Everything is first written into a hidden temporary directory
// beside dir and moved into place at the end, so a failure leaves dir as it
// was. A non-empty dir is refused unless force is set; with force, the
// report files of an earlier report in dir are replaced (or removed when the
// new report has no such file) and other files are kept.
func (r *Report) Write(dir string, force bool) (err error) {
	if err := CheckDir(dir, force); err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("writing report %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("writing report %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := r.render(tmp); err != nil {
		return fmt.Errorf("writing report %s: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("writing report %s: %w", dir, err)
	}
	if err := install(tmp, dir); err != nil {
		return fmt.Errorf("writing report %s: %w", dir, err)
	}
	return nil
}

// render writes every file of the report into dir.
func (r *Report) render(dir string) error {
	write := func(name string, data []byte) error {
		return os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	res, err := r.ResultsCSV()
	if err != nil {
		return err
	}
	cal, err := r.CalibrationCSV()
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{ResultsMarkdownFile, []byte(r.ResultsMarkdown())},
		{ResultsCSVFile, res},
		{CalibrationMDFile, []byte(r.CalibrationMarkdown())},
		{CalibrationCSVFile, cal},
	} {
		if err := write(f.name, f.data); err != nil {
			return err
		}
	}
	for i := range r.Figures {
		f := &r.Figures[i]
		stem := filepath.Join(dir, f.Name)
		switch {
		case f.Plot != nil:
			if err := f.Plot.Save(stem + ".png"); err != nil {
				return err
			}
			if f.SVG {
				if err := f.Plot.Save(stem + ".svg"); err != nil {
					return err
				}
			}
		case f.Image != nil:
			if err := plot.SavePNG(stem+".png", f.Image); err != nil {
				return err
			}
		default:
			return fmt.Errorf("figure %s has neither a plot nor an image", f.Name)
		}
	}
	page, err := r.HTML()
	if err != nil {
		return err
	}
	return write(IndexFile, page)
}

// install moves the finished report in tmp to dir. A missing or empty dir,
// or one holding only report files, is replaced by tmp in one rename (the
// old one removed after); otherwise the files are moved in one by one and
// stale report files removed, keeping the other files.
func install(tmp, dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.Rename(tmp, dir)
	case err != nil:
		return err
	}
	// Swap whole directories only when dir holds nothing but report files
	// and is not the working directory (which must not move).
	own := !slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return e.IsDir() || !IsReportFile(e.Name()) })
	if wd, err := os.Getwd(); err != nil || wd == dir {
		own = false
	}
	if own {
		old := tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
		if err := os.Rename(tmp, dir); err != nil {
			if rerr := os.Rename(old, dir); rerr != nil {
				return fmt.Errorf("%w (and restoring the earlier report from %s: %v)", err, old, rerr)
			}
			return err
		}
		return os.RemoveAll(old)
	}
	fresh, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, e := range fresh {
		keep[e.Name()] = true
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	for _, e := range ents {
		if !e.IsDir() && IsReportFile(e.Name()) && !keep[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return os.Remove(tmp)
}

// pct formats a fraction as a percentage with one decimal.
func pct(x float64) string { return fmt.Sprintf("%.1f %%", 100*x) }

// Header returns one line saying what was evaluated.
func (r *Report) Header() string {
	o := r.Options
	s := fmt.Sprintf("model %s (%s mode) on %s: %d test lenses (%d to %d), %d posterior samples each, seed %d",
		o.Model, r.Card.Config.Mode, o.Data, r.Posterior.N, o.First, o.First+r.Posterior.N-1, r.Posterior.S, o.Seed)
	if v := r.Posterior.Views; v > 1 {
		s += fmt.Sprintf(", averaged over %d rotations/flips of each image", v)
	}
	if r.SampleSeconds > 0 {
		s += fmt.Sprintf("; sampled in %.1f s (%.0f lenses/s)", r.SampleSeconds, float64(r.Posterior.N)/r.SampleSeconds)
	}
	return s
}

// Definitions states how the three metrics are computed.
func Definitions() string {
	return fmt.Sprintf("Median precision: median over lenses of 1 − w / |median|, w the %s, (q84 − q16) / 2. Median fractional deviation: median over lenses of |median − truth| / |truth|. R^2: coefficient of determination of the posterior medians against the truths.", diagnostics.PrecisionInterval)
}

// ResultsMarkdown returns the reference results table as Markdown.
func (r *Report) ResultsMarkdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Results: %s on %s\n\n%s.\n\n", r.Options.Model, r.Options.Data, capitalise(r.Header()))
	b.WriteString("| Parameter | Median Precision | Median Fractional Deviation | R^2 |\n|:--|--:|--:|--:|\n")
	for _, p := range r.Results {
		fmt.Fprintf(&b, "| %s | %s | %s | %.3f |\n", mdEscape(p.Label), pct(p.MedianPrecision), pct(p.MedianFractionalDeviation), p.R2)
	}
	if r.Bounds != nil {
		fmt.Fprintf(&b, "\ntheta_E at the Cramér-Rao bound (an unbiased estimator using all the information in the images; `lenssbi fisher`), over the first %d test lenses: median precision %s, median fractional deviation %s.\n",
			r.Bounds.Lenses, pct(r.Bounds.MedianPrecision), pct(r.Bounds.MedianFractionalDeviation))
	}
	fmt.Fprintf(&b, "\n%s\n", Definitions())
	return b.String()
}

// ResultsCSV returns the results table as CSV: a header and one row per
// parameter, fractions (not percentages) in full precision.
func (r *Report) ResultsCSV() ([]byte, error) {
	rows := [][]string{{"parameter", "label", "unit", "median_precision", "median_fractional_deviation", "r2", "lenses", "samples", "precision_interval"}}
	for _, p := range r.Results {
		rows = append(rows, []string{p.Name, p.Label, p.Unit, num(p.MedianPrecision), num(p.MedianFractionalDeviation), num(p.R2),
			strconv.Itoa(p.N), strconv.Itoa(r.Posterior.S), diagnostics.PrecisionInterval})
	}
	return csvBytes(rows)
}

// CalibrationCSV returns the per-parameter calibration summaries as CSV.
func (r *Report) CalibrationCSV() ([]byte, error) {
	rows := [][]string{{"parameter", "label", "sbc_chi2_p", "sbc_ks_p", "rank_bias", "rank_bias_z", "rank_spread", "rank_spread_z",
		"coverage_max_dev_pp", "coverage_max_dev_level", "coverage_mean_dev_pp", "coverage_p", "calibrated"}}
	for k, p := range r.Calibration.Params {
		rows = append(rows, []string{p.Name, r.Verdicts[k].Label, num(p.SBCChi2P), num(p.SBCKSP), num(p.RankBias), num(p.RankBiasZ),
			num(p.RankSpread), num(p.RankSpreadZ), num(p.CoverageMaxDevPP), num(p.CoverageMaxDevLevel), num(p.CoverageMeanDevPP),
			num(p.CoverageP), strconv.FormatBool(r.Verdicts[k].Calibrated)})
	}
	return csvBytes(rows)
}

// CalibrationMarkdown returns the calibration summary as Markdown: the
// verdict, the criteria, one sentence per parameter, the table of tests and
// the full text report with every finding.
func (r *Report) CalibrationMarkdown() string {
	var b strings.Builder
	cal := r.Calibration
	fmt.Fprintf(&b, "# Calibration: %s on %s\n\n%s.\n\n**%s**\n\n", r.Options.Model, r.Options.Data, capitalise(r.Header()), r.Summary())
	fmt.Fprintf(&b, "Criteria: a parameter is calibrated when both SBC rank tests (chi-square of the %d-bin rank histogram, Kolmogorov-Smirnov of the normalised ranks) give p > %g and the coverage of its central credible intervals is within ±%s percentage points of nominal at every level from %.2f to %.2f.",
		cal.SBC.Bins, r.Options.PValue, fmtNum(r.Options.CoverageTolerancePP), cal.Coverage.Levels[0], cal.Coverage.Levels[len(cal.Coverage.Levels)-1])
	if cal.TARP != nil {
		fmt.Fprintf(&b, " The joint posterior is tested with TARP (KS p > 0.01 and credibility spread |z| ≤ 3).")
	}
	b.WriteString("\n\n## Verdicts\n\n")
	for _, v := range r.Verdicts {
		fmt.Fprintf(&b, "- %s\n", v.Sentence)
	}
	if r.Joint != nil {
		fmt.Fprintf(&b, "- %s\n", r.Joint.Sentence)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	b.WriteString("\n## Tests per parameter\n\n| Parameter | SBC chi-square p | SBC KS p | Rank bias (z) | Rank spread (z) | Worst coverage deviation | Coverage p | Calibrated |\n|:--|--:|--:|--:|--:|--:|--:|:--|\n")
	for k, p := range cal.Params {
		fmt.Fprintf(&b, "| %s | %.3g | %.3g | %+.3f (%.1f) | %.2f (%.1f) | %+.1f pp at %.0f%% | %.3g | %s |\n", mdEscape(r.Verdicts[k].Label),
			p.SBCChi2P, p.SBCKSP, p.RankBias, p.RankBiasZ, p.RankSpread, p.RankSpreadZ, p.CoverageMaxDevPP, 100*p.CoverageMaxDevLevel, p.CoverageP, yesNo(r.Verdicts[k].Calibrated))
	}
	b.WriteString("\nRank bias: mean normalised rank − 0.5 (negative: the posterior overestimates). Rank spread: variance of the normal scores of the ranks (1 when calibrated; above: over-confident, below: under-confident).\n")
	b.WriteString("\n## Full report\n\n```text\n")
	b.WriteString(cal.Report())
	for _, is := range cal.Miscalibrated() {
		fmt.Fprintf(&b, "MISCALIBRATED %s\n", is)
	}
	b.WriteString("```\n\nFigures: [SBC rank histograms](sbc.png), [expected coverage](coverage.png)")
	if r.Figure("tarp") != nil {
		b.WriteString(", [TARP](tarp.png)")
	}
	b.WriteString(".\n")
	return b.String()
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

// mdEscape keeps a Markdown table cell intact.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func num(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }

func csvBytes(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
