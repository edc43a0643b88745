package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/npe"
	"github.com/lenssbi/lenssbi/pkg/simulate"
)

// TestTrainInferEvaluate runs the inference commands end to end on a tiny
// dataset: train (one epoch), evaluate (the results table) and infer (a
// posterior FITS file), and their bad-input errors.
func TestTrainInferEvaluate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "train.fits")
	if code, _, errs := runCLI(t, "simulate", "--preset", "delve-seed", "--n", "160", "--seed", "2", "--size", "32", "--out", data); code != 0 {
		t.Fatalf("simulate: %s", errs)
	}
	model := filepath.Join(dir, "m")
	code, out, errs := runCLI(t, "train", "--data", data, "--mode", "joint", "--epochs", "1", "--batch", "16", "--out", model, "--quiet")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "best validation loss") {
		t.Errorf("train output %q", out)
	}
	for _, f := range []string{"model.json", "weights.bin"} {
		if _, err := os.Stat(filepath.Join(model, f)); err != nil {
			t.Errorf("model file %s: %v", f, err)
		}
	}
	code, out, errs = runCLI(t, "evaluate", "--model", model, "--data", data, "--samples", "50", "--n", "40", "--record")
	if code != 0 {
		t.Fatalf("evaluate exit %d: %s", code, errs)
	}
	for _, want := range []string{"Median Precision", "Median Fractional Deviation", "R^2", "theta_E", "z_l", "sigma_v", "z_s"} {
		if !strings.Contains(out, want) {
			t.Errorf("evaluate output lacks %q:\n%s", want, out)
		}
	}
	card, err := os.ReadFile(filepath.Join(model, "model.json"))
	if err != nil || !strings.Contains(string(card), `"MedianPrecision"`) {
		t.Errorf("evaluate --record did not store metrics in model.json (%v)", err)
	}
	if readme, err := os.ReadFile(filepath.Join(model, "README.md")); err != nil || !strings.Contains(string(readme), "Held-out results") {
		t.Errorf("model README: %v", err)
	} else {
		// The training and test data's simulator output version (SIMVER) is on the card.
		want := fmt.Sprintf("simulator output version %d", simulate.OutputVersion)
		if n := strings.Count(string(readme), want); n != 2 {
			t.Errorf("model README names %q %d times, want 2 (training data, test data):\n%s", want, n, readme)
		}
	}
	var rec struct {
		Data struct {
			SimVersion int `json:"sim_version"`
		} `json:"data"`
		Metrics struct {
			Test struct {
				SimVersion int `json:"sim_version"`
			} `json:"test"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(card, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Data.SimVersion != simulate.OutputVersion || rec.Metrics.Test.SimVersion != simulate.OutputVersion {
		t.Errorf("model.json records simulator output versions %d (training data) and %d (test data), want %d",
			rec.Data.SimVersion, rec.Metrics.Test.SimVersion, simulate.OutputVersion)
	}
	post := filepath.Join(dir, "post.fits")
	if code, _, errs = runCLI(t, "infer", "--model", model, "--data", data, "--samples", "20", "--n", "10", "--out", post); code != 0 {
		t.Fatalf("infer exit %d: %s", code, errs)
	}
	if code, _, _ = runCLI(t, "infer", "--model", model, "--data", data, "--samples", "20", "--n", "10", "--out", post); code == 0 {
		t.Error("infer overwrote its output without --force")
	}
	// A model for 32x32 images refuses 48x48 ones; a missing model is named.
	big := filepath.Join(dir, "big.fits")
	runCLI(t, "simulate", "--preset", "delve-seed", "--n", "4", "--out", big)
	if code, _, errs = runCLI(t, "evaluate", "--model", model, "--data", big); code == 0 || !strings.Contains(errs, "32x32") {
		t.Errorf("size mismatch: exit %d %q", code, errs)
	}
	if code, _, errs = runCLI(t, "evaluate", "--model", filepath.Join(dir, "nope"), "--data", data); code == 0 || !strings.Contains(errs, "nope") {
		t.Errorf("missing model: exit %d %q", code, errs)
	}
	if code, _, _ = runCLI(t, "train", "--data", data, "--mode", "both", "--out", model); code != 2 {
		t.Errorf("bad mode: exit %d", code)
	}
}

// TestTrainConfig: --config sets the architecture and training options
// (flags given on the command line win), --targets picks the parameters,
// --augment the augmentation; a misspelt field, an unknown target or
// augmentation, or a missing file is a clear error before any training.
func TestTrainConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "train.fits")
	if code, _, errs := runCLI(t, "simulate", "--preset", "delve-seed", "--n", "200", "--seed", "3", "--size", "32", "--out", data); code != 0 {
		t.Fatalf("simulate: %s", errs)
	}
	cfg := filepath.Join(dir, "cfg.json")
	if err := os.WriteFile(cfg, []byte(`{"mode": "joint", "epochs": 7, "batch_size": 16, "augment": "",
	  "embedding": {"StemChannels": 6, "Coords": "radius", "Readout": "flatten",
	    "Blocks": [{"C1": 4, "C3Reduce": 4, "C3": 4, "C5Reduce": 2, "C5": 2, "CPool": 2}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "m")
	code, _, errs := runCLI(t, "train", "--data", data, "--config", cfg, "--epochs", "1", "--targets", "THETA_E,Z_SOURCE", "--out", model, "--quiet")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	card, err := os.ReadFile(filepath.Join(model, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mode": "joint"`, `"epochs": 1`, `"batch_size": 16`, `"StemChannels": 6`, `"Coords": "radius"`, `"Readout": "flatten"`, `"THETA_E",`, `"Z_SOURCE"`} {
		if !strings.Contains(string(card), want) {
			t.Errorf("model card lacks %s", want)
		}
	}
	if strings.Contains(string(card), `"SIGMA_V"`) || strings.Contains(string(card), `"augment"`) {
		t.Error("model card has targets or augmentation the configuration did not ask for")
	}
	code, out, errs := runCLI(t, "evaluate", "--model", model, "--data", data, "--samples", "20", "--n", "16")
	if code != 0 || !strings.Contains(out, "theta_E") || !strings.Contains(out, "z_s") || strings.Contains(out, "sigma_v") {
		t.Errorf("evaluate of a two-target model: exit %d\n%s%s", code, out, errs)
	}

	// combine: the two networks of the joint model cannot be split; a
	// marginal one's can.
	marg := filepath.Join(dir, "marg")
	if code, _, errs := runCLI(t, "train", "--data", data, "--config", cfg, "--mode", "marginal", "--epochs", "1", "--targets", "THETA_E,Z_SOURCE", "--out", marg, "--quiet"); code != 0 {
		t.Fatalf("train marginal: %s", errs)
	}
	// --init: a fine-tuning run takes the model's architecture (no --config
	// here), records where it started; a mode or targets that differ are
	// refused.
	ft := filepath.Join(dir, "ft")
	if code, _, errs := runCLI(t, "train", "--data", data, "--init", marg, "--epochs", "1", "--lr", "1e-4", "--out", ft, "--quiet"); code != 0 {
		t.Fatalf("train --init: %s", errs)
	}
	if card, err := os.ReadFile(filepath.Join(ft, "model.json")); err != nil || !strings.Contains(string(card), `"init_from": "`+marg) || !strings.Contains(string(card), `"StemChannels": 6`) {
		t.Errorf("fine-tuned model's card (%v):\n%s", err, card)
	}
	if code, _, errs := runCLI(t, "train", "--data", data, "--init", marg, "--mode", "joint", "--out", filepath.Join(dir, "ft2"), "--quiet"); code != 2 || !strings.Contains(errs, "marginal") {
		t.Errorf("--init with another mode: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, "train", "--data", data, "--init", marg, "--targets", "THETA_E", "--out", filepath.Join(dir, "ft3"), "--quiet"); code == 0 || !strings.Contains(errs, "targets") {
		t.Errorf("--init with other targets: exit %d, %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "ft3")); err == nil {
		t.Error("a refused --init run created its directory")
	}
	if code, _, errs := runCLI(t, "combine", "--out", filepath.Join(dir, "c1"), model+":THETA_E"); code == 0 || !strings.Contains(errs, "joint") {
		t.Errorf("combining a joint model: exit %d, %s", code, errs)
	}
	if code, out, errs := runCLI(t, "combine", "--out", filepath.Join(dir, "c2"), marg+":Z_SOURCE", marg+":theta_e"); code != 0 || !strings.Contains(out, "Z_SOURCE (") {
		t.Errorf("combine: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "evaluate", "--model", filepath.Join(dir, "c2"), "--data", data, "--samples", "20", "--n", "16", "--record"); code != 0 || !strings.Contains(out, "z_s") {
		t.Errorf("evaluate of a combined model: exit %d\n%s%s", code, out, errs)
	}
	// Its card says how each network was trained.
	if readme, err := os.ReadFile(filepath.Join(dir, "c2", "README.md")); err != nil || strings.Count(string(readme), "batch 16, lr 0.001") != 2 {
		t.Errorf("combined model's README (%v) does not give each network's batch and learning rate:\n%s", err, readme)
	}
	if code, out, errs := runCLI(t, "evaluate", "--model", filepath.Join(dir, "c2"), "--data", data, "--samples", "20", "--n", "16", "--views", "4"); code != 0 || !strings.Contains(out, "4 views") {
		t.Errorf("evaluate --views 4: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "evaluate", "--model", filepath.Join(dir, "c2"), "--data", data, "--views", "3"); code != 2 || !strings.Contains(errs, "3 views") {
		t.Errorf("evaluate --views 3: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, "calibrate", "--model", model, "--data", data, "--samples", "20"); code == 0 || !strings.Contains(errs, "joint") {
		t.Errorf("calibrating a joint model: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, "calibrate", "--model", marg); code != 2 || !strings.Contains(errs, "--data") {
		t.Errorf("calibrate without data: exit %d, %s", code, errs)
	}
	if code, _, errs := runCLI(t, "combine", "--out", filepath.Join(dir, "c3")); code != 2 || !strings.Contains(errs, "MODEL") {
		t.Errorf("combine without models: exit %d, %s", code, errs)
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"embedding": {"Readuot": "flatten"}}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", bad}, "Readuot"},
		{[]string{"--config", filepath.Join(dir, "none.json")}, "none.json"},
		{[]string{"--targets", "THETA_E,THETA_E"}, "twice"},
		{[]string{"--targets", "MASS"}, "MASS"},
		{[]string{"--augment", "rotate"}, "--augment"},
	} {
		args := append([]string{"train", "--data", data, "--out", filepath.Join(dir, "x"), "--quiet"}, tc.args...)
		code, _, errs := runCLI(t, args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, error %q, want one naming %q", tc.args, code, errs, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x", "model.json")); err == nil {
		t.Error("a refused run left a model card")
	}
}

// TestTrainOnTheFlyContinues: a run fine-tuned (--init) from a model trained
// on simulated lenses of the same preset and seed continues that model's
// stream instead of showing it the same lenses again; its card says where
// the stream started.
func TestTrainOnTheFlyContinues(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "train.fits")
	if code, _, errs := runCLI(t, "simulate", "--preset", "delve-seed", "--n", "200", "--seed", "4", "--size", "32", "--out", data); code != 0 {
		t.Fatalf("simulate: %s", errs)
	}
	cfg := filepath.Join(dir, "cfg.json")
	if err := os.WriteFile(cfg, []byte(`{"batch_size": 16, "embedding": {"StemChannels": 4,
	    "Blocks": [{"C1": 2, "C3Reduce": 2, "C3": 2, "C5Reduce": 2, "C5": 2, "CPool": 2}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	readData := func(model string) npe.DataInfo {
		t.Helper()
		c, err := npe.ReadCard(model)
		if err != nil {
			t.Fatal(err)
		}
		return c.Data
	}
	// 70 lenses per epoch in batches of 16: 64 of them are drawn.
	fly := []string{"--data", data, "--simulate-on-the-fly", "--lenses-per-epoch", "70", "--quiet", "--targets", "THETA_E"}
	m1 := filepath.Join(dir, "m1")
	if code, _, errs := runCLI(t, append([]string{"train", "--config", cfg, "--epochs", "2", "--out", m1}, fly...)...); code != 0 {
		t.Fatalf("train: %s", errs)
	}
	if d := readData(m1); !d.OnTheFly || d.FlyOffset != 0 || d.NTrain != 64 {
		t.Errorf("first run: on the fly %v, offset %d, %d lenses per epoch; want true, 0, 64", d.OnTheFly, d.FlyOffset, d.NTrain)
	} else if d.FlySimVersion != simulate.OutputVersion || d.SimVersion != simulate.OutputVersion {
		t.Errorf("first run: simulator output versions %d (on the fly), %d (FITS); want %d for both", d.FlySimVersion, d.SimVersion, simulate.OutputVersion)
	}
	m2 := filepath.Join(dir, "m2")
	if code, _, errs := runCLI(t, append([]string{"train", "--init", m1, "--epochs", "1", "--out", m2}, fly...)...); code != 0 {
		t.Fatalf("train --init: %s", errs)
	}
	if d := readData(m2); d.FlyOffset != 128 || !strings.Contains(d.Train, "lenses 128 on") {
		t.Errorf("fine-tuning run: offset %d (%q); want 128, past the 2 x 64 lenses of m1", d.FlyOffset, d.Train)
	}
	m3 := filepath.Join(dir, "m3")
	if code, _, errs := runCLI(t, append([]string{"train", "--init", m2, "--epochs", "1", "--out", m3}, fly...)...); code != 0 {
		t.Fatalf("train --init: %s", errs)
	}
	if d := readData(m3); d.FlyOffset != 192 {
		t.Errorf("second fine-tuning run: offset %d; want 192", d.FlyOffset)
	}
	// Resuming an unfinished fine-tuning run keeps its own stream, whether
	// or not --init is named again.
	c1, err := npe.ReadCard(m1)
	if err != nil {
		t.Fatal(err)
	}
	var card map[string]any
	raw, err := os.ReadFile(filepath.Join(m2, "model.json"))
	if err != nil || json.Unmarshal(raw, &card) != nil {
		t.Fatalf("reading m2's card: %v", err)
	}
	card["state"].(map[string]any)["done"] = false
	card["data"].(map[string]any)["fly_offset"] = 777
	m5 := filepath.Join(dir, "m5")
	raw, _ = json.Marshal(card)
	if err := os.MkdirAll(m5, 0o755); err != nil || os.WriteFile(filepath.Join(m5, "model.json"), raw, 0o644) != nil {
		t.Fatal("writing m5's card")
	}
	for _, c := range []struct {
		out  string
		from *npe.Card
		seed uint64
		want int
	}{
		{m5, c1, c1.Data.Seed, 777},
		{m5, nil, c1.Data.Seed, 777},
		{filepath.Join(dir, "new"), c1, c1.Data.Seed, 128},
		{filepath.Join(dir, "new"), c1, c1.Data.Seed + 1, 0},
		{filepath.Join(dir, "new"), nil, c1.Data.Seed, 0},
	} {
		if got := flyOffset(c.out, c.from, c1.Data.Preset, c.seed); got != c.want {
			t.Errorf("flyOffset(%s, from %v, seed %d) = %d, want %d", filepath.Base(c.out), c.from != nil, c.seed, got, c.want)
		}
	}
	// Fine-tuned on the FITS set instead: no stream to continue.
	m4 := filepath.Join(dir, "m4")
	if code, _, errs := runCLI(t, "train", "--init", m2, "--data", data, "--epochs", "1", "--out", m4, "--quiet"); code != 0 {
		t.Fatalf("train --init on FITS: %s", errs)
	}
	if d := readData(m4); d.OnTheFly || d.FlyOffset != 0 {
		t.Errorf("FITS fine-tuning run: on the fly %v, offset %d", d.OnTheFly, d.FlyOffset)
	}
}

// TestReadTrainConfigNetEmbedding: a network's own embedding in --config
// names only what differs from the model's embedding (after the file's
// "embedding"), or from the network's own in the initial model.
func TestReadTrainConfigNetEmbedding(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write("cfg.json", `{"embedding": {"Coords": "radius", "Readout": "flatten"},
	  "net_embedding": {"THETA_E": {"StemPool": false, "BlockPool": [true, true, true]}}}`)
	cfg, err := readTrainConfig(p, npe.DefaultConfig(npe.ModeMarginal))
	if err != nil {
		t.Fatal(err)
	}
	te := cfg.EmbeddingOf("THETA_E")
	if te.StemPool || !slices.Equal(te.BlockPool, []bool{true, true, true}) || te.Coords != "radius" || te.Readout != "flatten" ||
		te.StemChannels != 16 || len(te.Blocks) != 3 {
		t.Errorf("theta_E network's embedding %+v", te)
	}
	if zl := cfg.EmbeddingOf("Z_LENS"); !zl.StemPool || zl.BlockPool != nil || zl.Coords != "radius" {
		t.Errorf("z_l network's embedding %+v", zl)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	// On top of a model that has it: the network's own embedding is the start.
	again, err := readTrainConfig(write("wider.json", `{"net_embedding": {"THETA_E": {"EmbedDim": 80}}}`), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if te := again.EmbeddingOf("THETA_E"); te.StemPool || te.EmbedDim != 80 || te.Coords != "radius" {
		t.Errorf("theta_E network's embedding after a second file %+v", te)
	}
	if cfg.NetEmbedding["THETA_E"].EmbedDim != 64 {
		t.Error("reading a configuration changed the base's per-network embedding")
	}
	if _, err := readTrainConfig(write("bad.json", `{"net_embedding": {"THETA_E": {"StemPol": false}}}`), cfg); err == nil ||
		!strings.Contains(err.Error(), "StemPol") || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("misspelt field: %v", err)
	}
}

// TestTrainFinishFlags: --finish takes only --out and names a missing model.
func TestTrainFinishFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	if code, _, errs := runCLI(t, "train", "--finish", "--out", dir, "--epochs", "3"); code != 2 || !strings.Contains(errs, "--epochs") {
		t.Errorf("--finish with --epochs: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "train", "--finish"); code != 2 || !strings.Contains(errs, "--out") {
		t.Errorf("--finish without --out: exit %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "train", "--finish", "--out", dir); code != 1 || !strings.Contains(errs, "none") {
		t.Errorf("--finish on a missing model: exit %d %q", code, errs)
	}
}
