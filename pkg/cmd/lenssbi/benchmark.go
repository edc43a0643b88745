package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/lenssbi/lenssbi/pkg/mlbackend"
	"github.com/lenssbi/lenssbi/pkg/npe"
	"github.com/lenssbi/lenssbi/pkg/report"
)

// runBenchmark measures training and inference speed on several backends in
// one process and prints one table, so that the ratios compare like with
// like: same machine, same data, same build.
func runBenchmark(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("benchmark", "benchmark [--backends go,xla:cpu] [flags]", stderr)
	backends := fs.String("backends", "go,xla:cpu", "comma-separated backends to compare (the first is the baseline of the ratios)")
	trainN := fs.Int("train-n", 2200, "delve-seed lenses simulated for training (10% held out)")
	testN := fs.Int("test-n", 2500, "delve-seed lenses simulated for inference")
	samples := fs.Int("samples", 1000, "posterior samples per lens")
	epochs := fs.Int("epochs", 2, "training epochs; the last epoch's images/s is reported (the first includes compilation)")
	models := fs.String("models", "models", "directory holding the shipped delve-seed-joint and delve-seed-marginal models")
	modes := fs.String("modes", "joint,marginal", "modes to benchmark")
	dir := fs.String("dir", "", "working directory for the data and models (default: a temporary one, removed afterwards)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *trainN < 700 || *testN <= 0 || *samples <= 0 || *epochs <= 0:
		return usagef("--train-n must be >= 700 (the held-out 10%% must fill a batch), --test-n, --samples and --epochs > 0")
	}
	bks := splitList(*backends)
	mds := splitList(*modes)
	if len(bks) == 0 || len(mds) == 0 {
		return usagef("--backends and --modes must name at least one each")
	}
	for _, m := range mds {
		if m != npe.ModeJoint && m != npe.ModeMarginal {
			return usagef("--modes: unknown mode %q", m)
		}
		if _, err := os.Stat(filepath.Join(*models, "delve-seed-"+m, "model.json")); err != nil {
			return fmt.Errorf("benchmark: shipped model %s missing (--models): %w", filepath.Join(*models, "delve-seed-"+m), err)
		}
	}
	for _, b := range bks { // fail early on a backend that is not there
		be, err := mlbackend.New(b)
		if err != nil {
			return err
		}
		be.Finalize()
	}
	work := *dir
	if work == "" {
		if work, err = os.MkdirTemp("", "lenssbi-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	sub := func(args ...string) error {
		var errb strings.Builder
		if code := run(args, io.Discard, &errb); code != 0 {
			return fmt.Errorf("lenssbi %s: %s", strings.Join(args, " "), strings.TrimSpace(errb.String()))
		}
		return nil
	}
	trainData, testData := filepath.Join(work, "bench.fits"), filepath.Join(work, "test.fits")
	fmt.Fprintf(stderr, "simulating %d + %d delve-seed lenses in %s\n", *trainN, *testN, work)
	if err := sub("simulate", "--preset", "delve-seed", "--n", strconv.Itoa(*trainN), "--seed", "21", "--out", trainData, "--force", "--quiet"); err != nil {
		return err
	}
	if err := sub("simulate", "--preset", "delve-seed", "--n", strconv.Itoa(*testN), "--seed", "12", "--out", testData, "--force", "--quiet"); err != nil {
		return err
	}

	type row struct {
		name, unit string
		higher     bool // higher is better
		vals       []float64
	}
	var rows []*row
	for _, m := range mds {
		rows = append(rows, &row{name: "training, " + m, unit: "images/s", higher: true, vals: make([]float64, len(bks))})
	}
	for _, m := range mds {
		rows = append(rows, &row{name: fmt.Sprintf("inference, %s (%d x %d)", m, *testN, *samples), unit: "s", vals: make([]float64, len(bks))})
	}
	for bi, b := range bks {
		for mi, m := range mds {
			out := filepath.Join(work, fmt.Sprintf("model-%d-%s", bi, m))
			os.RemoveAll(out)
			fmt.Fprintf(stderr, "training %s on %s (%d epochs)\n", m, b, *epochs)
			if err := sub("train", "--data", trainData, "--mode", m, "--epochs", strconv.Itoa(*epochs), "--patience", "0", "--backend", b, "--out", out, "--quiet"); err != nil {
				return err
			}
			card, err := npe.ReadCard(out)
			if err != nil {
				return err
			}
			rows[mi].vals[bi] = card.State.ImagesPerSec
		}
		for mi, m := range mds {
			fmt.Fprintf(stderr, "inference %s on %s\n", m, b)
			est, ds, err := loadForInference(filepath.Join(*models, "delve-seed-"+m), testData, b, 0)
			if err != nil {
				return err
			}
			t0 := time.Now()
			_, err = report.SamplePosterior(est, ds, 0, ds.Len(), *samples, 1)
			rows[len(mds)+mi].vals[bi] = time.Since(t0).Seconds()
			ds.Close()
			if err != nil {
				return err
			}
		}
	}

	fmt.Fprintf(stdout, "lenssbi benchmark: %s, %d CPUs, %s\n", cpuModel(), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(stdout, "training: images/s of epoch %d of `lenssbi train` on %d delve-seed lenses; inference: seconds for report.SamplePosterior\n", *epochs, *trainN)
	fmt.Fprintf(stdout, "(FITS reading, image preparation and graph compilation included) with the shipped models\n\n")
	fmt.Fprintf(stdout, "| |")
	for _, b := range bks {
		fmt.Fprintf(stdout, " %s |", b)
	}
	for _, b := range bks[1:] {
		fmt.Fprintf(stdout, " %s vs %s |", b, bks[0])
	}
	fmt.Fprintf(stdout, "\n|---|%s\n", strings.Repeat("---|", 2*len(bks)-1))
	for _, r := range rows {
		fmt.Fprintf(stdout, "| %s |", r.name)
		for _, v := range r.vals {
			if r.unit == "s" {
				fmt.Fprintf(stdout, " %.1f s |", v)
			} else {
				fmt.Fprintf(stdout, " %.0f %s |", v, r.unit)
			}
		}
		for _, v := range r.vals[1:] {
			ratio := v / r.vals[0]
			if !r.higher {
				ratio = r.vals[0] / v
			}
			fmt.Fprintf(stdout, " %.1fx |", ratio)
		}
		fmt.Fprintln(stdout)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// cpuModel returns the processor name from /proc/cpuinfo, or the
// architecture where that is not available.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
