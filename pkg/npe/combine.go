package npe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/lenssbi/lenssbi/pkg/nn"
)

// Part selects networks of a trained marginal model for Combine: the
// networks of Targets (all of the model's targets when empty) from the model
// in Dir.
type Part struct {
	Dir     string
	Targets []string
}

// ParsePart reads "DIR" or "DIR:T1,T2" (the targets taken from DIR).
func ParsePart(s string) (Part, error) {
	dir, list, found := strings.Cut(s, ":")
	if dir == "" {
		return Part{}, fmt.Errorf("npe: %q: empty model directory", s)
	}
	p := Part{Dir: dir}
	if found {
		for _, t := range strings.Split(list, ",") {
			t = strings.ToUpper(strings.TrimSpace(t))
			if t == "" {
				return Part{}, fmt.Errorf("npe: %q: empty target name", s)
			}
			p.Targets = append(p.Targets, t)
		}
	}
	return p, nil
}

// Component records where one network of a combined marginal model came
// from (Card.Components): the source model's epochs, training time (of the
// whole source model, shared by the networks taken from it) and data.
type Component struct {
	Target      string  `json:"target"`
	From        string  `json:"from"`
	Epochs      int     `json:"epochs"`
	Seconds     float64 `json:"train_seconds"`
	BestValLoss float64 `json:"best_val_loss"` // of the source model (all its targets)
	Backend     string  `json:"backend,omitempty"`
	Machine     string  `json:"machine,omitempty"`
	// BatchSize and LearningRate are the source run's (0 where a model
	// combined before they were recorded did not say).
	BatchSize    int      `json:"batch_size,omitempty"`
	LearningRate float64  `json:"learning_rate,omitempty"`
	Data         DataInfo `json:"data"`
}

// Combine builds a marginal-mode model in dst from networks of finished
// marginal models, in the order the parts list them: the reference setup
// trains one network per parameter, and the networks need not be trained
// together (e.g. `lenssbi train --targets THETA_E` for longer than the
// rest). Each network keeps the parameter transform it was trained with.
// The parts must agree on everything a single model shares: image
// preparation, image size and bands, flow architecture, and the preset of
// the training data; a target may appear only once. The embedding networks
// may differ (e.g. a theta_E network at a higher resolution than the
// others'): the card records each network's (Config.NetEmbedding). dst must
// not exist; it is written weights first, then model.json, and removed
// again if anything fails. The new card lists the components (with their
// epochs and training time); held-out metrics are not carried over, since
// they describe other models (run evaluate --record on the result).
func Combine(dst string, parts []Part) (*Card, error) {
	if len(parts) == 0 {
		return nil, errors.New("npe: combine: no models given")
	}
	if _, err := os.Stat(dst); err == nil {
		return nil, fmt.Errorf("npe: combine: %s already exists (choose a new directory)", dst)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("npe: combine: %w", err)
	}
	var out *Card
	store := model.NewStore()
	seen := map[string]string{}
	var embs []nn.EmbeddingConfig // each network's embedding, in target order
	for _, p := range parts {
		c, err := ReadCard(p.Dir)
		if err != nil {
			return nil, err
		}
		if c.Config.Mode != ModeMarginal {
			return nil, fmt.Errorf("npe: combine: %s is a %s-mode model; only marginal models have one network per parameter", p.Dir, c.Config.Mode)
		}
		if !c.State.Done {
			return nil, fmt.Errorf("npe: combine: %s has not finished training (epoch %d); finish or resume it first", p.Dir, c.State.Epoch)
		}
		targets := p.Targets
		if len(targets) == 0 {
			targets = c.Config.Targets
		}
		if out == nil {
			out = &Card{Format: c.Format, Version: c.Version, Config: c.Config, Prep: c.Prep,
				NX: c.NX, NY: c.NY, Bands: slices.Clone(c.Bands), Data: c.Data}
			out.Config.Targets = nil
			out.Config.NetEmbedding = nil // set below from embs
			out.State = TrainState{Done: true, BestEpoch: -1, Machine: c.State.Machine, Backend: c.State.Backend}
		} else if err := compatible(out, c, p.Dir); err != nil {
			return nil, err
		}
		src := model.NewStore()
		if err := loadWeights(src, filepath.Join(p.Dir, weightsFile), true); err != nil {
			return nil, fmt.Errorf("npe: combine: %w", err)
		}
		for _, t := range targets {
			k := slices.Index(c.Config.Targets, t)
			if k < 0 {
				return nil, fmt.Errorf("npe: combine: %s has no network for %s (it models %s)", p.Dir, t, strings.Join(c.Config.Targets, ", "))
			}
			if prev, dup := seen[t]; dup {
				return nil, fmt.Errorf("npe: combine: %s is taken from both %s and %s", t, prev, p.Dir)
			}
			seen[t] = p.Dir
			prefix := "/" + netName(t) + "/"
			n := 0
			for v := range src.IterVariables() {
				if !strings.HasPrefix(v.Path(), prefix) {
					continue
				}
				val, err := v.Value()
				if err != nil {
					return nil, fmt.Errorf("npe: combine: %s: variable %s: %w", p.Dir, v.Path(), err)
				}
				nv, err := store.CreateVariable(v.Path(), val)
				if err != nil {
					return nil, fmt.Errorf("npe: combine: %s: %w", p.Dir, err)
				}
				nv.SetTrainable(true)
				n++
			}
			if n == 0 {
				return nil, fmt.Errorf("npe: combine: %s: no weights under %s in %s", p.Dir, prefix, weightsFile)
			}
			out.Config.Targets = append(out.Config.Targets, t)
			embs = append(embs, c.Config.EmbeddingOf(t))
			out.Transform.Params = append(out.Transform.Params, c.Transform.Params[k])
			comp := Component{Target: t, From: p.Dir, Epochs: c.State.Epoch,
				Seconds: c.State.Seconds, BestValLoss: c.State.BestValLoss, Backend: c.State.Backend, Machine: c.State.Machine,
				BatchSize: c.Config.BatchSize, LearningRate: c.Config.LearningRate, Data: c.Data}
			if i := slices.IndexFunc(c.Components, func(x Component) bool { return x.Target == t }); i >= 0 {
				comp = c.Components[i] // a combined model's network: where it was trained
			}
			out.Components = append(out.Components, comp)
			out.State.Epoch = max(out.State.Epoch, comp.Epochs)
		}
	}
	out.Config.Embedding, out.Config.NetEmbedding = splitEmbeddings(out.Config.Targets, embs)
	// Training time: each source model's once, whatever it gives, with the
	// time behind its initial weights when it was fine-tuned.
	counted := map[string]bool{}
	for _, x := range out.Components {
		if !counted[x.From] {
			counted[x.From] = true
			out.State.Seconds += x.Seconds + x.Data.InitFromSeconds
		}
	}
	out.State.StopReason = "combined from " + componentList(out.Components)
	out.State.Updated = time.Now().UTC()
	if err := out.Config.Validate(); err != nil {
		return nil, fmt.Errorf("npe: combine: %w", err)
	}
	if err := out.Transform.Validate(); err != nil {
		return nil, fmt.Errorf("npe: combine: %w", err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, fmt.Errorf("npe: combine: %w", err)
	}
	if err := saveWeights(store, filepath.Join(dst, weightsFile)); err != nil {
		os.RemoveAll(dst)
		return nil, fmt.Errorf("npe: combine: %w", err)
	}
	if err := writeCard(dst, out); err != nil {
		os.RemoveAll(dst)
		return nil, fmt.Errorf("npe: combine: %w", err)
	}
	return out, nil
}

// splitEmbeddings returns the embedding that most of the networks of
// targets have (the first network's on a tie) as the model's, and the
// others by target.
func splitEmbeddings(targets []string, embs []nn.EmbeddingConfig) (nn.EmbeddingConfig, map[string]nn.EmbeddingConfig) {
	count := func(e nn.EmbeddingConfig) int {
		n := 0
		for _, x := range embs {
			if reflect.DeepEqual(x, e) {
				n++
			}
		}
		return n
	}
	base := embs[0]
	for _, e := range embs[1:] {
		if count(e) > count(base) {
			base = e
		}
	}
	var own map[string]nn.EmbeddingConfig
	for i, e := range embs {
		if !reflect.DeepEqual(e, base) {
			if own == nil {
				own = map[string]nn.EmbeddingConfig{}
			}
			own[targets[i]] = e
		}
	}
	return base, own
}

// fieldDiff names the fields in which the structs a and b (of one type)
// differ, with a's value and then b's, the first model's: "Hidden 8, the
// first model 32; ...".
func fieldDiff(a, b any) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var d []string
	for i := range va.NumField() {
		if fa, fb := va.Field(i).Interface(), vb.Field(i).Interface(); !reflect.DeepEqual(fa, fb) {
			d = append(d, fmt.Sprintf("%s %v, the first model %v", va.Type().Field(i).Name, fa, fb))
		}
	}
	return strings.Join(d, "; ")
}

// compatible reports why model c (in dir) cannot join the combined card out.
func compatible(out, c *Card, dir string) error {
	switch {
	case !reflect.DeepEqual(out.Prep, c.Prep):
		return fmt.Errorf("npe: combine: %s prepares images differently (%+v, the first model %+v)", dir, c.Prep, out.Prep)
	case out.NX != c.NX || out.NY != c.NY || !slices.Equal(out.Bands, c.Bands):
		return fmt.Errorf("npe: combine: %s takes %dx%d %s images, the first model %dx%d %s", dir, c.NX, c.NY,
			strings.Join(c.Bands, ""), out.NX, out.NY, strings.Join(out.Bands, ""))
	case !reflect.DeepEqual(out.Config.Flow, c.Config.Flow):
		return fmt.Errorf("npe: combine: %s has other flows (%s)", dir, fieldDiff(c.Config.Flow, out.Config.Flow))
	case out.Data.Preset != c.Data.Preset:
		return fmt.Errorf("npe: combine: %s was trained on preset %q, the first model on %q", dir, c.Data.Preset, out.Data.Preset)
	}
	return nil
}

func componentList(cs []Component) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s, %d epochs)", c.Target, c.From, c.Epochs)
	}
	return b.String()
}

// EpochsText describes how long the model trained: "32", for a model
// fine-tuned from another "100 + 40", and for a combined model each
// network's epochs, "THETA_E 100 + 40, Z_LENS 32, ...".
func (c *Card) EpochsText() string {
	if len(c.Components) == 0 {
		return epochsWithInit(c.State.Epoch, c.Data)
	}
	parts := make([]string, len(c.Components))
	for i, p := range c.Components {
		parts[i] = fmt.Sprintf("%s %s", p.Target, epochsWithInit(p.Epochs, p.Data))
	}
	return strings.Join(parts, ", ")
}

// epochsWithInit is n epochs, preceded by the initial model's when the run
// was a fine-tuning one.
func epochsWithInit(n int, d DataInfo) string {
	switch {
	case d.InitFromEpochs == "":
		return fmt.Sprint(n)
	case strings.Contains(d.InitFromEpochs, ","):
		return fmt.Sprintf("(%s) + %d", d.InitFromEpochs, n)
	}
	return fmt.Sprintf("%s + %d", d.InitFromEpochs, n)
}
