package npe

import (
	"context"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/nn"
)

// TestCombine trains a four-network marginal model and a theta_E-only one
// whose embedding keeps the full resolution, combines theta_E from the
// second with the other three from the first and checks the result: the
// card records the theta_E network's own embedding, the three networks taken over give the same samples as
// in their own model (same noise), theta_E's posterior medians agree with
// the single-network model's (other noise draws), the card records the
// components, and bad combinations are refused with nothing written.
func TestCombine(t *testing.T) {
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeMarginal)
		root := t.TempDir()
		full := filepath.Join(root, "full")
		f.card.Config.Epochs = 1
		if _, err := Train(context.Background(), full, f.card, f.trainSrc, f.valSrc, TrainOptions{}); err != nil {
			t.Fatal(err)
		}
		te := filepath.Join(root, "te")
		one := f.card
		one.Config.Targets = []string{"THETA_E"}
		one.Config.Epochs = 2
		one.Config.Embedding.StemPool = false // a network of another architecture
		one.Transform.Params = f.card.Transform.Params[:1]
		ds1, err := dataset.Open(f.card.Data.Train)
		if err != nil {
			t.Fatal(err)
		}
		defer ds1.Close()
		rows := func(a, b int) []int {
			var r []int
			for i := a; i < b; i++ {
				r = append(r, i)
			}
			return r
		}
		teSrc, err := NewFITSSource(ds1, f.card.Data.Train, rows(0, 128), f.card.Prep, one.Transform, 32, 64, 1)
		if err != nil {
			t.Fatal(err)
		}
		teVal, err := NewFITSSource(ds1, f.card.Data.Train, rows(128, 160), f.card.Prep, one.Transform, 32, 64, 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Train(context.Background(), te, one, teSrc, teVal, TrainOptions{}); err != nil {
			t.Fatal(err)
		}

		dst := filepath.Join(root, "combined")
		card, err := Combine(dst, []Part{{Dir: te}, {Dir: full, Targets: []string{"Z_LENS", "SIGMA_V", "Z_SOURCE"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(card.Config.Targets, ","); got != "THETA_E,Z_LENS,SIGMA_V,Z_SOURCE" {
			t.Fatalf("targets %s", got)
		}
		if len(card.Components) != 4 || card.Components[0].From != te || card.Components[0].Epochs != 2 || card.Components[1].Epochs != 1 {
			t.Errorf("components %+v", card.Components)
		}
		if got := card.EpochsText(); got != "THETA_E 2, Z_LENS 1, SIGMA_V 1, Z_SOURCE 1" {
			t.Errorf("EpochsText %q", got)
		}
		// The embedding of three networks is the model's; theta_E's is its own.
		if e := card.Config.NetEmbedding; len(e) != 1 || !reflect.DeepEqual(e["THETA_E"], one.Config.Embedding) ||
			!reflect.DeepEqual(card.Config.Embedding, f.card.Config.Embedding) {
			t.Errorf("embedding %+v, own embeddings %+v", card.Config.Embedding, e)
		}
		if s := card.Config.Summary(); !strings.Contains(s, "; the THETA_E network's embedding: 1 block, no pool after the stem, 16-d output") {
			t.Errorf("summary %q", s)
		}
		// A network taken from a combined model keeps where it was trained,
		// and each source model's time counts once.
		again, err := Combine(filepath.Join(root, "again"), []Part{{Dir: dst, Targets: []string{"THETA_E", "Z_LENS"}}})
		if err != nil {
			t.Fatal(err)
		}
		if c := again.Components; len(c) != 2 || c[0] != card.Components[0] || c[1] != card.Components[1] {
			t.Errorf("components taken from a combined model %+v, want %+v", c, card.Components[:2])
		}
		if want := card.Components[0].Seconds + card.Components[1].Seconds; math.Abs(again.State.Seconds-want) > 1e-9 || card.State.Seconds != want {
			t.Errorf("training time %.3f s (combined model %.3f s), want %.3f s", again.State.Seconds, card.State.Seconds, want)
		}

		ds, err := dataset.Open(f.card.Data.Train)
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		const n, S = 6, 4000
		imgs, err := ds.ReadImages(0, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		post := func(dir string) *Posterior {
			est, err := Load(dir, "")
			if err != nil {
				t.Fatal(err)
			}
			p, err := est.Posterior(imgs, n, PosteriorOptions{Samples: S, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		pc, pf, pt := post(dst), post(full), post(te)
		for i := 0; i < n; i++ {
			for s := 0; s < S; s++ {
				for d := 1; d < 4; d++ {
					if a, b := pc.Sample(i, s, d), pf.Sample(i, s, d); math.Abs(float64(a-b)) > 1e-5*math.Max(1, math.Abs(float64(b))) {
						t.Fatalf("lens %d sample %d parameter %d: combined %g, own model %g", i, s, d, a, b)
					}
				}
			}
			c, o := pc.Summaries[i][0], pt.Summaries[i][0]
			// medians of 4,000 draws: standard error ~2% of the 68% width
			if tol := 0.1 * (o.Hi68 - o.Lo68); math.Abs(c.Median-o.Median) > tol {
				t.Errorf("lens %d: theta_E median %.4g combined vs %.4g in its own model (tolerance %.2g)", i, c.Median, o.Median, tol)
			}
		}

		// Refusals: nothing written, nothing overwritten.
		bad := []struct {
			name  string
			parts []Part
			want  string
		}{
			{"exists", []Part{{Dir: full}}, "already exists"},
			{"dup", []Part{{Dir: te}, {Dir: full}}, "taken from both"},
			{"missing", []Part{{Dir: te, Targets: []string{"Z_LENS"}}}, "no network for Z_LENS"},
			{"nomodel", []Part{{Dir: filepath.Join(root, "nothing")}}, "no model"},
		}
		for _, b := range bad {
			d := filepath.Join(root, "bad-"+b.name)
			if b.name == "exists" {
				d = dst
			}
			before, _ := os.ReadFile(filepath.Join(dst, cardFile))
			_, err := Combine(d, b.parts)
			if err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("%s: error %v, want %q", b.name, err, b.want)
			}
			if b.name != "exists" {
				if _, err := os.Stat(d); err == nil {
					t.Errorf("%s: %s was created", b.name, d)
				}
			} else if after, _ := os.ReadFile(filepath.Join(dst, cardFile)); string(after) != string(before) {
				t.Errorf("refused combine changed %s", dst)
			}
		}
		// Another architecture is refused.
		other := filepath.Join(root, "other")
		wide := f.card
		wide.Config.Epochs = 1
		wide.Config.Flow.Hidden = 8
		if _, err := Train(context.Background(), other, wide, f.trainSrc, f.valSrc, TrainOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := Combine(filepath.Join(root, "bad-arch"), []Part{{Dir: te}, {Dir: other, Targets: []string{"Z_LENS"}}}); err == nil || !strings.Contains(err.Error(), "other flows") {
			t.Errorf("mismatched flows: %v", err)
		}
	})
}

func TestParsePart(t *testing.T) {
	p, err := ParsePart("models/a:theta_e, Z_LENS")
	if err != nil || p.Dir != "models/a" || strings.Join(p.Targets, ",") != "THETA_E,Z_LENS" {
		t.Errorf("got %+v, %v", p, err)
	}
	if p, err := ParsePart("models/b"); err != nil || p.Dir != "models/b" || p.Targets != nil {
		t.Errorf("got %+v, %v", p, err)
	}
	for _, s := range []string{"", ":THETA_E", "m:", "m:A,,B"} {
		if _, err := ParsePart(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// TestCombineNamesDifferences: networks with other flows are refused with
// the fields that differ; other embeddings are accepted.
func TestCombineNamesDifferences(t *testing.T) {
	a, b := &Card{}, &Card{}
	a.Config.Embedding = nn.DefaultEmbeddingConfig()
	b.Config.Embedding = nn.DefaultEmbeddingConfig()
	b.Config.Embedding.StemPool, b.Config.Embedding.BlockPool = false, []bool{true, true, true}
	if err := compatible(a, b, "models/fullres"); err != nil {
		t.Errorf("another embedding refused: %v", err)
	}
	b.Config.Flow.Hidden, b.Config.Flow.Bins = 8, 4
	a.Config.Flow.Hidden = 32
	err := compatible(a, b, "models/narrow")
	if err == nil || !strings.Contains(err.Error(), "Hidden 8, the first model 32") || !strings.Contains(err.Error(), "Bins 4, the first model 0") ||
		strings.Contains(err.Error(), "Transforms") {
		t.Errorf("error %v", err)
	}
}

// TestSplitEmbeddings: the embedding most networks share is the model's (the
// first network's on a tie); the others are kept by target.
func TestSplitEmbeddings(t *testing.T) {
	d := nn.DefaultEmbeddingConfig()
	full := d
	full.StemPool, full.BlockPool = false, []bool{true, true, true}
	base, own := splitEmbeddings([]string{"A", "B", "C"}, []nn.EmbeddingConfig{full, d, d})
	if !reflect.DeepEqual(base, d) || len(own) != 1 || !reflect.DeepEqual(own["A"], full) {
		t.Errorf("base %+v, own %+v", base, own)
	}
	base, own = splitEmbeddings([]string{"A", "B"}, []nn.EmbeddingConfig{full, d})
	if !reflect.DeepEqual(base, full) || len(own) != 1 || !reflect.DeepEqual(own["B"], d) {
		t.Errorf("tie: base %+v, own %+v", base, own)
	}
	if base, own = splitEmbeddings([]string{"A", "B"}, []nn.EmbeddingConfig{d, d}); !reflect.DeepEqual(base, d) || own != nil {
		t.Errorf("one embedding: base %+v, own %+v", base, own)
	}
}

// TestNetEmbeddingValidate: per-network embeddings only for targets of a
// marginal model, each valid; the graphs and summary use them.
func TestNetEmbeddingValidate(t *testing.T) {
	c := DefaultConfig(ModeMarginal)
	full := c.Embedding
	full.StemPool = false
	c.NetEmbedding = map[string]nn.EmbeddingConfig{"THETA_E": full}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.EmbeddingOf("THETA_E"), full) || !reflect.DeepEqual(c.EmbeddingOf("Z_LENS"), c.Embedding) {
		t.Error("EmbeddingOf")
	}
	for name, tc := range map[string]struct {
		mod  func(*Config)
		want string
	}{
		"joint":      {func(c *Config) { c.Mode = ModeJoint }, "for marginal models"},
		"not target": {func(c *Config) { c.NetEmbedding["Z_S"] = full }, "names Z_S, which is not a target"},
		"invalid":    {func(c *Config) { e := full; e.StemChannels = 0; c.NetEmbedding["Z_LENS"] = e }, "Z_LENS network's embedding"},
	} {
		d := c
		d.NetEmbedding = maps.Clone(c.NetEmbedding)
		tc.mod(&d)
		if err := d.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}
