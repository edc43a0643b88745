package npe

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/lenssbi/lenssbi/pkg/flows"
	"github.com/lenssbi/lenssbi/pkg/nn"
)

// Modes of the estimator.
const (
	// ModeMarginal is the reference setup: one network (embedding + 1-D
	// flow) per parameter, each modelling a marginal posterior.
	ModeMarginal = "marginal"
	// ModeJoint is one embedding and one flow over all parameters.
	ModeJoint = "joint"
)

// Config holds the estimator's architecture and training choices.
type Config struct {
	Mode      string             `json:"mode"`
	Targets   []string           `json:"targets"`
	Embedding nn.EmbeddingConfig `json:"embedding"`
	// NetEmbedding holds, in marginal mode, the embedding network of each
	// target whose network differs from Embedding (e.g. a theta_E network
	// whose first block keeps the full resolution beside three of the
	// default architecture, put together by Combine); the networks of the
	// other targets use Embedding. Empty in joint mode.
	NetEmbedding map[string]nn.EmbeddingConfig `json:"net_embedding,omitempty"`
	// Flow is the flow configuration; Dim is set from Mode and Targets.
	Flow flows.Config `json:"flow"`

	BatchSize       int     `json:"batch_size"`
	Epochs          int     `json:"epochs"`
	LearningRate    float64 `json:"learning_rate"`
	MinLearningRate float64 `json:"min_learning_rate"` // cosine decay floor
	ClipNorm        float64 `json:"clip_norm"`         // global gradient-norm clip (0: off)
	Patience        int     `json:"patience"`          // early stopping, epochs without improvement (0: off)
	ValFraction     float64 `json:"val_fraction"`      // held out of --data when no validation set is given
	Seed            uint64  `json:"seed"`
	// Augment is the training-time augmentation: AugmentD4 or AugmentNone.
	Augment string `json:"augment,omitempty"`
}

// DefaultConfig returns the reference setup for mode: the compact Inception
// embedding and flows of 4 transforms with 32 hidden units.
func DefaultConfig(mode string) Config {
	return Config{
		Mode:            mode,
		Targets:         []string{"THETA_E", "Z_LENS", "SIGMA_V", "Z_SOURCE"},
		Embedding:       nn.DefaultEmbeddingConfig(),
		Flow:            flows.DefaultConfig(1),
		BatchSize:       64,
		Epochs:          30,
		LearningRate:    1e-3,
		MinLearningRate: 1e-5,
		ClipNorm:        5,
		Patience:        5,
		ValFraction:     0.1,
		Seed:            1,
		Augment:         AugmentD4,
	}
}

// Validate reports the first problem.
func (c Config) Validate() error {
	if c.Mode != ModeMarginal && c.Mode != ModeJoint {
		return fmt.Errorf("npe: mode %q: want %q or %q", c.Mode, ModeMarginal, ModeJoint)
	}
	if len(c.Targets) == 0 {
		return errors.New("npe: no targets")
	}
	for i, t := range c.Targets {
		if slices.Contains(c.Targets[:i], t) {
			return fmt.Errorf("npe: target %s listed twice", t)
		}
	}
	if err := c.Embedding.Validate(); err != nil {
		return fmt.Errorf("npe: embedding: %w", err)
	}
	if len(c.NetEmbedding) > 0 && c.Mode != ModeMarginal {
		return fmt.Errorf("npe: net_embedding is for marginal models (one network per parameter), not %s mode", c.Mode)
	}
	for _, t := range slices.Sorted(maps.Keys(c.NetEmbedding)) {
		if !slices.Contains(c.Targets, t) {
			return fmt.Errorf("npe: net_embedding names %s, which is not a target (%s)", t, strings.Join(c.Targets, ", "))
		}
		e := c.NetEmbedding[t]
		if err := e.Validate(); err != nil {
			return fmt.Errorf("npe: %s network's embedding: %w", t, err)
		}
	}
	if err := c.flowConfig().Validate(); err != nil {
		return fmt.Errorf("npe: flow: %w", err)
	}
	switch {
	case c.BatchSize <= 0:
		return fmt.Errorf("npe: batch size %d", c.BatchSize)
	case c.Epochs <= 0:
		return fmt.Errorf("npe: epochs %d", c.Epochs)
	case !(c.LearningRate > 0) || c.MinLearningRate < 0 || c.MinLearningRate > c.LearningRate:
		return fmt.Errorf("npe: learning rates %g / %g", c.LearningRate, c.MinLearningRate)
	case c.ClipNorm < 0 || c.Patience < 0:
		return errors.New("npe: negative clip norm or patience")
	case c.ValFraction < 0 || c.ValFraction >= 1:
		return fmt.Errorf("npe: validation fraction %g outside [0, 1)", c.ValFraction)
	}
	return validAugment(c.Augment)
}

// flowConfig is the configuration of each flow: 1-D per parameter in
// marginal mode, len(Targets)-D in joint mode.
func (c Config) flowConfig() flows.Config {
	f := c.Flow
	f.Dim = 1
	if c.Mode == ModeJoint {
		f.Dim = len(c.Targets)
	}
	return f
}

// EmbeddingOf returns the embedding network of target's network: its entry
// in NetEmbedding if it has one, else Embedding.
func (c Config) EmbeddingOf(target string) nn.EmbeddingConfig {
	if e, ok := c.NetEmbedding[target]; ok {
		return e
	}
	return c.Embedding
}

func netScope(scope *model.Scope, target string) *model.Scope {
	return scope.In("%s", netName(target))
}

// netName is the scope of target's network in a marginal model; its
// variables' paths start with "/" + netName(target) + "/".
func netName(target string) string { return "net_" + strings.ToLower(target) }

// logProbGraph returns log q(theta | images) per lens, [B], in flow space.
// images [B, H, W, C], theta [B, D].
func (c Config) logProbGraph(scope *model.Scope, images, theta *graph.Node) *graph.Node {
	fc := c.flowConfig()
	if c.Mode == ModeJoint {
		ctx := nn.Embedding(scope.In("embedding"), c.Embedding, images)
		return flows.LogProb(scope.In("flow"), fc, ctx, theta)
	}
	var total *graph.Node
	for k, t := range c.Targets {
		s := netScope(scope, t)
		ctx := nn.Embedding(s.In("embedding"), c.EmbeddingOf(t), images)
		fck := fc
		fck.Seed = fc.Seed + uint64(k)
		th := graph.Slice(theta, graph.AxisRange(), graph.AxisRange(k, k+1))
		lp := flows.LogProb(s.In("flow"), fck, ctx, th)
		if total == nil {
			total = lp
		} else {
			total = graph.Add(total, lp)
		}
	}
	return total
}

// sampleGraph draws flow-space samples: noise [B, S, D] -> [B, S, D].
func (c Config) sampleGraph(scope *model.Scope, images, noise *graph.Node) *graph.Node {
	fc := c.flowConfig()
	if c.Mode == ModeJoint {
		ctx := nn.Embedding(scope.In("embedding"), c.Embedding, images)
		return flows.Sample(scope.In("flow"), fc, ctx, noise)
	}
	parts := make([]*graph.Node, len(c.Targets))
	for k, t := range c.Targets {
		s := netScope(scope, t)
		ctx := nn.Embedding(s.In("embedding"), c.EmbeddingOf(t), images)
		fck := fc
		fck.Seed = fc.Seed + uint64(k)
		nk := graph.Slice(noise, graph.AxisRange(), graph.AxisRange(), graph.AxisRange(k, k+1))
		parts[k] = flows.Sample(s.In("flow"), fck, ctx, nk)
	}
	return graph.Concatenate(parts, -1)
}

// Summary describes the architecture and augmentation in one line for
// model cards, e.g. "Inception embedding (3 blocks, radius channel,
// flattened readout, 64-d output); flows of 4 transforms, 32 hidden units,
// 8 bins; D4 augmentation"; networks with an embedding of their own
// (NetEmbedding) are described after it.
func (c Config) Summary() string {
	s := fmt.Sprintf("Inception embedding (%s); flows of %d transforms, %d hidden units, %d bins",
		embeddingSummary(c.Embedding), c.Flow.Transforms, c.Flow.Hidden, c.Flow.Bins)
	if c.Augment == AugmentD4 {
		s += "; D4 augmentation"
	}
	for _, t := range c.Targets {
		if e, ok := c.NetEmbedding[t]; ok {
			s += fmt.Sprintf("; the %s network's embedding: %s", t, embeddingSummary(e))
		}
	}
	return s
}

// embeddingSummary lists e's features: "3 blocks, radius channel,
// flattened readout, 64-d output", with where it pools when that is not the
// default (after the stem and every block but the last).
func embeddingSummary(e nn.EmbeddingConfig) string {
	parts := []string{fmt.Sprintf("%d blocks", len(e.Blocks))}
	if len(e.Blocks) == 1 {
		parts[0] = "1 block"
	}
	if !e.StemPool {
		parts = append(parts, "no pool after the stem")
	}
	if e.BlockPool != nil && !slices.Equal(e.BlockPool, blockPools(nn.EmbeddingConfig{Blocks: e.Blocks})) {
		var after []string
		for i, p := range e.BlockPool {
			if p {
				after = append(after, fmt.Sprint(i+1))
			}
		}
		if len(after) == 0 {
			parts = append(parts, "no pools after the blocks")
		} else {
			parts = append(parts, "pools after blocks "+strings.Join(after, ", "))
		}
	}
	if e.Coords == nn.CoordsRadius {
		parts = append(parts, "radius channel")
	}
	if e.Readout == nn.ReadoutFlatten {
		parts = append(parts, "flattened readout")
	}
	parts = append(parts, fmt.Sprintf("%d-d output", e.EmbedDim))
	return strings.Join(parts, ", ")
}
