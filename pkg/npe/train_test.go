package npe

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/nn"
	"github.com/lenssbi/lenssbi/pkg/simulate"
)

// withTimeout fails the test if f runs longer than d (graph execution on the
// Go backend has deadlocked before: ARCHITECTURE.md).
func withTimeout(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("timed out after %v", d)
	}
}

func tinyConfig(mode string) Config {
	c := DefaultConfig(mode)
	c.Embedding = nn.EmbeddingConfig{
		StemChannels: 8, StemPool: true,
		Blocks:   []nn.InceptionConfig{{C1: 4, C3Reduce: 4, C3: 8, C5Reduce: 2, C5: 4, CPool: 4}},
		EmbedDim: 16, Activation: "relu", Norm: "none",
	}
	c.Flow.Hidden = 16
	c.BatchSize = 32
	c.Epochs = 3
	c.Patience = 0
	c.LearningRate = 3e-3
	return c
}

type fixture struct {
	card     Card
	trainSrc Source
	valSrc   Source
}

func newFixture(t *testing.T, mode string) fixture {
	t.Helper()
	s := testSim(t)
	d := openSimulated(t, s, 160)
	path, ds, pc, tr := d.path, d.ds, d.pc, d.tr
	trainRows, valRows := make([]int, 128), make([]int, 32)
	for i := range trainRows {
		trainRows[i] = i
	}
	for i := range valRows {
		valRows[i] = 128 + i
	}
	trainSrc, err := NewFITSSource(ds, path, trainRows, pc, tr, 32, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	valSrc, err := NewFITSSource(ds, path, valRows, pc, tr, 32, 64, 2)
	if err != nil {
		t.Fatal(err)
	}
	card := Card{Config: tinyConfig(mode), Prep: pc, Transform: tr, NX: 32, NY: 32, Bands: s.Bands(),
		Data: DataInfo{Train: path, Preset: "delve-seed", NTrain: 128, NVal: 32}}
	return fixture{card: card, trainSrc: trainSrc, valSrc: valSrc}
}

// TestTrainResumeAndInfer trains a tiny marginal model for three epochs in
// one go and, separately, one epoch then a resume for the rest: both reach
// the same losses. The trained model loads and samples posteriors.
func TestTrainResumeAndInfer(t *testing.T) {
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeMarginal)
		straight := filepath.Join(t.TempDir(), "straight")
		got, err := Train(context.Background(), straight, f.card, f.trainSrc, f.valSrc, TrainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := got.State.History
		if len(h) != 3 || !got.State.Done {
			t.Fatalf("history %+v, done %v", h, got.State.Done)
		}
		t.Logf("train loss %.3f -> %.3f, val %.3f -> %.3f, %.0f images/s", h[0].TrainLoss, h[2].TrainLoss, h[0].ValLoss, h[2].ValLoss, got.State.ImagesPerSec)
		if !(h[2].TrainLoss < h[0].TrainLoss) {
			t.Errorf("training loss did not decrease: %.4f -> %.4f", h[0].TrainLoss, h[2].TrainLoss)
		}
		if _, err := os.Stat(filepath.Join(straight, checkpointFile)); err == nil {
			t.Error("finished run kept its resume checkpoint")
		}

		resumed := filepath.Join(t.TempDir(), "resumed")
		part, err := Train(context.Background(), resumed, f.card, f.trainSrc, f.valSrc, TrainOptions{MaxEpochs: 1})
		if err != nil {
			t.Fatal(err)
		}
		if part.State.Done || part.State.Epoch != 1 {
			t.Fatalf("partial run state %+v", part.State)
		}
		rest, err := Train(context.Background(), resumed, f.card, f.trainSrc, f.valSrc, TrainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range h {
			a, b := h[i], rest.State.History[i]
			if math.Abs(a.TrainLoss-b.TrainLoss) > 1e-4*math.Max(1, math.Abs(a.TrainLoss)) || math.Abs(a.ValLoss-b.ValLoss) > 1e-4*math.Max(1, math.Abs(a.ValLoss)) {
				t.Errorf("epoch %d: straight %+v, resumed %+v", i+1, a, b)
			}
		}
		if _, err := Train(context.Background(), resumed, f.card, f.trainSrc, f.valSrc, TrainOptions{}); err == nil {
			t.Error("a finished run was trained again")
		}

		est, err := Load(straight, "")
		if err != nil {
			t.Fatal(err)
		}
		ds, _ := dataset.Open(f.card.Data.Train)
		defer ds.Close()
		imgs, _ := ds.ReadImages(0, 5, nil)
		post, err := est.Posterior(imgs, 5, PosteriorOptions{Samples: 200, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if post.N != 5 || post.S != 200 || post.D != 4 || len(post.Samples) != 5*200*4 {
			t.Fatalf("posterior shape %d %d %d", post.N, post.S, post.D)
		}
		for i := 0; i < 5; i++ {
			s := post.Summaries[i]
			if !(s[0].Median > 0) || !(s[2].Median > 0) || !(s[0].Lo68 <= s[0].Median && s[0].Median <= s[0].Hi68) {
				t.Errorf("lens %d: implausible summary %+v", i, s)
			}
		}
		again, _ := est.Posterior(imgs, 5, PosteriorOptions{Samples: 200, Seed: 3, ChunkSize: 2})
		for k := range post.Samples {
			if math.Abs(float64(post.Samples[k]-again.Samples[k])) > 1e-5*math.Max(1, math.Abs(float64(post.Samples[k]))) {
				t.Fatalf("sample %d differs with another chunk size: %g vs %g", k, post.Samples[k], again.Samples[k])
			}
		}
		if _, err := est.Posterior(imgs[:len(imgs)-10], 5, PosteriorOptions{}); err == nil {
			t.Error("wrong image size accepted")
		}
	})
}

// TestJointModelTrains: the joint 4-D flow trains and samples.
func TestJointModelTrains(t *testing.T) {
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeJoint)
		f.card.Config.Epochs = 2
		dir := filepath.Join(t.TempDir(), "joint")
		got, err := Train(context.Background(), dir, f.card, f.trainSrc, f.valSrc, TrainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if h := got.State.History; !(h[1].TrainLoss < h[0].TrainLoss) {
			t.Errorf("joint training loss did not decrease: %+v", h)
		}
		if _, err := Load(dir, ""); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none"), ""); err == nil || !strings.Contains(err.Error(), "no model") {
		t.Errorf("missing model: %v", err)
	}
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeJoint)
		f.card.Config.Epochs = 1
		dir := filepath.Join(t.TempDir(), "m")
		if _, err := Train(context.Background(), dir, f.card, f.trainSrc, f.valSrc, TrainOptions{}); err != nil {
			t.Fatal(err)
		}
		w := filepath.Join(dir, weightsFile)
		b, _ := os.ReadFile(w)
		os.WriteFile(w, b[:len(b)-100], 0o644)
		if _, err := Load(dir, ""); err == nil || !strings.Contains(err.Error(), "weights.bin") {
			t.Errorf("truncated weights: %v", err)
		}
		os.WriteFile(filepath.Join(dir, cardFile), []byte("{"), 0o644)
		if _, err := Load(dir, ""); err == nil || !strings.Contains(err.Error(), "model.json") {
			t.Errorf("corrupt card: %v", err)
		}
	})
	_ = simulate.Targets
}

// TestTrainInit: a run started from a trained model's weights (fine-tuning)
// begins where that model ended -- with a learning rate too small to move
// the weights, its first validation loss is the model's own best and its
// posteriors are the model's -- records where it started, and a model
// whose networks, preparation or transform differ is refused before
// anything is written.
func TestTrainInit(t *testing.T) {
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeMarginal)
		f.card.Config.Epochs = 2
		base := filepath.Join(t.TempDir(), "base")
		src, err := Train(context.Background(), base, f.card, f.trainSrc, f.valSrc, TrainOptions{})
		if err != nil {
			t.Fatal(err)
		}

		ft := f.card
		ft.Config.Epochs = 2
		ft.Config.LearningRate, ft.Config.MinLearningRate = 1e-12, 1e-12
		ft.Config.Seed, ft.Config.Flow.Seed = 7, 7 // initial values are replaced anyway
		dir := filepath.Join(t.TempDir(), "ft")
		if _, err := Train(context.Background(), dir, ft, f.trainSrc, f.valSrc, TrainOptions{InitFrom: base, MaxEpochs: 1}); err != nil {
			t.Fatal(err)
		}
		// Resumed (without naming the initial model again): the provenance stays.
		got, err := Train(context.Background(), dir, ft, f.trainSrc, f.valSrc, TrainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v0, best := got.State.History[0].ValLoss, src.State.BestValLoss
		if math.Abs(v0-best) > 1e-4*math.Max(1, math.Abs(best)) {
			t.Errorf("fine-tuning run's first validation loss %.6f, the initial model's best %.6f", v0, best)
		}
		if got.Data.InitFrom != base || got.Data.InitFromEpochs != "2" || got.EpochsText() != "2 + 2" || got.Data.InitFromSeconds != src.State.Seconds {
			t.Errorf("provenance %q / %q / %g s (source %g s), epochs %q", got.Data.InitFrom, got.Data.InitFromEpochs, got.Data.InitFromSeconds, src.State.Seconds, got.EpochsText())
		}
		a, err := Load(base, "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := Load(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		ds, _ := dataset.Open(f.card.Data.Train)
		defer ds.Close()
		imgs, _ := ds.ReadImages(0, 4, nil)
		pa, err := a.Posterior(imgs, 4, PosteriorOptions{Samples: 100, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		pb, err := b.Posterior(imgs, 4, PosteriorOptions{Samples: 100, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		for k := range pa.Samples {
			if math.Abs(float64(pa.Samples[k]-pb.Samples[k])) > 1e-4*math.Max(1, math.Abs(float64(pa.Samples[k]))) {
				t.Fatalf("sample %d: initial model %g, fine-tuned with lr 1e-12 %g", k, pa.Samples[k], pb.Samples[k])
			}
		}

		// Refusals: nothing is written.
		for name, mod := range map[string]func(c *Card){
			"targets":   func(c *Card) { c.Config.Targets = c.Config.Targets[:2] },
			"embedding": func(c *Card) { c.Config.Embedding.EmbedDim++ },
			"flows":     func(c *Card) { c.Config.Flow.Hidden++ },
			"prep":      func(c *Card) { c.Prep.Softening *= 2 },
			"transform": func(c *Card) {
				c.Transform.Params = append([]ParamSpec{}, c.Transform.Params...)
				c.Transform.Params[0].Std *= 2
			},
		} {
			c := f.card
			mod(&c)
			out := filepath.Join(t.TempDir(), "refused")
			_, err := Train(context.Background(), out, c, f.trainSrc, f.valSrc, TrainOptions{InitFrom: base})
			if err == nil || !strings.Contains(err.Error(), base) {
				t.Errorf("%s differs: error %v", name, err)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Errorf("%s differs: %s was created", name, out)
			}
		}
		if _, err := Train(context.Background(), filepath.Join(t.TempDir(), "x"), f.card, f.trainSrc, f.valSrc, TrainOptions{InitFrom: filepath.Join(t.TempDir(), "none")}); err == nil {
			t.Error("a missing initial model was accepted")
		}
		// Other pools keep every weight's shape: the filters start at
		// another resolution and train.
		rp := f.card
		rp.Config.Embedding.StemPool = !rp.Config.Embedding.StemPool
		if _, err := Train(context.Background(), filepath.Join(t.TempDir(), "pools"), rp, f.trainSrc, f.valSrc, TrainOptions{InitFrom: base, MaxEpochs: 1}); err != nil {
			t.Errorf("fine-tuning with another stem pool: %v", err)
		}
	})
}

// TestCompatibleInitPools: a fine-tuning run may pool where its initial
// model did not, unless a flattened readout would then see a feature map of
// another size; anything else about the embedding must match.
func TestCompatibleInitPools(t *testing.T) {
	from := Card{NX: 48, NY: 48, Bands: []string{"g", "r", "i", "z"}, Config: DefaultConfig(ModeMarginal), State: TrainState{Done: true}}
	from.Config.Embedding.Readout = nn.ReadoutFlatten // 48 -> 24 -> 12 -> 6
	full := from
	full.Config.Embedding.StemPool, full.Config.Embedding.BlockPool = false, []bool{true, true, true} // 48 -> 24 -> 12 -> 6
	if err := CompatibleInit(&from, &full); err != nil {
		t.Errorf("full resolution in the first block, same 6x6 readout: %v", err)
	}
	fine := from
	fine.Config.Embedding.StemPool = false // 48 -> 24 -> 12
	if err := CompatibleInit(&from, &fine); err == nil || !strings.Contains(err.Error(), "6x6") || !strings.Contains(err.Error(), "12x12") {
		t.Errorf("flattened 12x12 map from a 6x6 one: %v", err)
	}
	mean, meanFine := from, fine
	mean.Config.Embedding.Readout, meanFine.Config.Embedding.Readout = nn.ReadoutMean, nn.ReadoutMean
	if err := CompatibleInit(&mean, &meanFine); err != nil {
		t.Errorf("global mean readout with other pools: %v", err)
	}
	wider := full
	wider.Config.Embedding.EmbedDim++
	if err := CompatibleInit(&from, &wider); err == nil || !strings.Contains(err.Error(), "embedding") {
		t.Errorf("other pools and another embedding size: %v", err)
	}

	// A combined model's networks are compared one by one, each with its
	// own embedding.
	mixed := from
	mixed.Config.NetEmbedding = map[string]nn.EmbeddingConfig{"THETA_E": wider.Config.Embedding}
	if err := CompatibleInit(&mixed, &mixed); err != nil {
		t.Errorf("the same mixed model: %v", err)
	}
	if err := CompatibleInit(&mixed, &from); err == nil || !strings.Contains(err.Error(), "the THETA_E network") {
		t.Errorf("theta_E network of another embedding size: %v", err)
	}
	fullTE := from
	fullTE.Config.NetEmbedding = map[string]nn.EmbeddingConfig{"THETA_E": full.Config.Embedding}
	if err := CompatibleInit(&from, &fullTE); err != nil {
		t.Errorf("theta_E network alone at full resolution in the first block: %v", err)
	}
}

// TestFinish: a run stopped after 1 of 3 epochs cannot seed fine-tuning
// until Finish ends it at its best weights; Finish marks it done, removes the
// checkpoint, keeps the weights, and refuses a finished run or an empty
// directory without changing anything.
func TestFinish(t *testing.T) {
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeMarginal)
		f.card.Config.Epochs = 3
		dir := filepath.Join(t.TempDir(), "run")
		if _, err := Train(context.Background(), dir, f.card, f.trainSrc, f.valSrc, TrainOptions{MaxEpochs: 1}); err != nil {
			t.Fatal(err)
		}
		c, err := ReadCard(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := CompatibleInit(c, &f.card); err == nil || !strings.Contains(err.Error(), "not finished") {
			t.Fatalf("unfinished run accepted as initial weights: %v", err)
		}
		weights, _ := os.ReadFile(filepath.Join(dir, weightsFile))
		if _, err := os.Stat(filepath.Join(dir, checkpointFile)); err != nil {
			t.Fatalf("unfinished run without a checkpoint: %v", err)
		}
		done, err := Finish(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !done.State.Done || !strings.Contains(done.State.StopReason, "after 1 of 3 epochs") {
			t.Errorf("state %+v", done.State)
		}
		if _, err := os.Stat(filepath.Join(dir, checkpointFile)); !os.IsNotExist(err) {
			t.Errorf("checkpoint left behind: %v", err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, weightsFile)); !bytes.Equal(got, weights) {
			t.Error("Finish changed the weights")
		}
		again, err := ReadCard(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := CompatibleInit(again, &f.card); err != nil {
			t.Errorf("finished run refused as initial weights: %v", err)
		}
		before, _ := os.ReadFile(filepath.Join(dir, cardFile))
		if _, err := Finish(dir); err == nil || !strings.Contains(err.Error(), "already finished") {
			t.Errorf("finishing twice: %v", err)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, cardFile)); !bytes.Equal(before, after) {
			t.Error("a refused Finish changed the card")
		}
		if _, err := Finish(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "no model") {
			t.Errorf("empty directory: %v", err)
		}
	})
}
