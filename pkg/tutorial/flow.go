package tutorial

import (
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/lenssbi/lenssbi/pkg/flows"
	"github.com/lenssbi/lenssbi/pkg/mlbackend"
)

// Flow is a conditional spline flow q(theta | context) (package flows) with
// its variables, fitted by maximum likelihood: the minimal trainer the
// tutorials use. Values are float32 in the graph and float64 at the API.
// ContextDim 0 makes an unconditional density q(theta).
type Flow struct {
	Config     flows.Config
	ContextDim int

	backend compute.Backend
	store   *model.Store
	step    *model.Exec
	logProb *model.Exec
	sample  *model.Exec
	lr      float64
	steps   int
}

// NewFlow returns an untrained flow on the default backend (mlbackend.Default).
func NewFlow(cfg flows.Config, contextDim int) (*Flow, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tutorial.NewFlow: %w", err)
	}
	if contextDim < 0 {
		return nil, fmt.Errorf("tutorial.NewFlow: negative context dimension %d", contextDim)
	}
	b, err := mlbackend.Default()
	if err != nil {
		return nil, fmt.Errorf("tutorial.NewFlow: %w", err)
	}
	return &Flow{Config: cfg, ContextDim: contextDim, backend: b, store: model.NewStore()}, nil
}

// Sampler draws n training pairs: contexts [n][ContextDim] (nil when
// ContextDim is 0) and values [n][Dim], flat and row-major.
type Sampler func(rng *rand.Rand, n int) (ctx, theta []float64)

// Fit runs steps Adam steps on fresh batches of size batch drawn from draw,
// minimising the mean of -log q(theta | context). The learning rate follows a
// cosine from lr down to lr/20. progress, if not nil, is called after every
// step with the step number (from 1) and the batch loss. It returns the loss
// of every step.
func (f *Flow) Fit(rng *rand.Rand, draw Sampler, steps, batch int, lr float64, progress func(step int, loss float64)) ([]float64, error) {
	if steps < 1 || batch < 1 || !(lr > 0) {
		return nil, fmt.Errorf("tutorial.Flow.Fit: need steps, batch and lr > 0 (got %d, %d, %g)", steps, batch, lr)
	}
	if f.step == nil || f.lr != lr {
		opt := optimizer.Adam().LearningRate(lr).Done()
		cfg, e := f.Config, f.ContextDim
		var err error
		if e > 0 {
			f.step, err = model.NewExec(f.backend, f.store, func(s *model.Scope, ctx, x *graph.Node) *graph.Node {
				loss := graph.Neg(graph.ReduceAllMean(flows.LogProb(s.At("flow"), cfg, ctx, x)))
				opt.UpdateGraph(s, x.Graph(), loss)
				return loss
			})
		} else {
			f.step, err = model.NewExec(f.backend, f.store, func(s *model.Scope, x *graph.Node) *graph.Node {
				loss := graph.Neg(graph.ReduceAllMean(flows.LogProb(s.At("flow"), cfg, nil, x)))
				opt.UpdateGraph(s, x.Graph(), loss)
				return loss
			})
		}
		if err != nil {
			return nil, fmt.Errorf("tutorial.Flow.Fit: %w", err)
		}
		f.lr = lr
	}
	losses := make([]float64, 0, steps)
	for i := range steps {
		if i > 0 || f.steps > 0 { // the first step creates the learning-rate variable
			frac := float64(i) / float64(steps)
			now := lr * (0.05 + 0.95*0.5*(1+math.Cos(math.Pi*frac)))
			v := optimizer.LearningRateVar(f.store.RootScope(), dtypes.Float32, lr)
			if err := v.SetValue(tensors.FromScalar(float32(now))); err != nil {
				return losses, fmt.Errorf("tutorial.Flow.Fit: %w", err)
			}
		}
		ctx, x := draw(rng, batch)
		if len(x) != batch*f.Config.Dim || len(ctx) != batch*f.ContextDim {
			return losses, fmt.Errorf("tutorial.Flow.Fit: sampler returned %d contexts and %d values for a batch of %d (want %d and %d)",
				len(ctx), len(x), batch, batch*f.ContextDim, batch*f.Config.Dim)
		}
		args := []any{tensors.FromFlatDataAndDimensions(toF32(x), batch, f.Config.Dim)}
		if f.ContextDim > 0 {
			args = append([]any{tensors.FromFlatDataAndDimensions(toF32(ctx), batch, f.ContextDim)}, args...)
		}
		out, err := f.step.Exec(args...)
		if err != nil {
			return losses, fmt.Errorf("tutorial.Flow.Fit: step %d: %w", i+1, err)
		}
		loss := float64(tensors.ToScalar[float32](out[0]))
		losses = append(losses, loss)
		f.steps++
		if progress != nil {
			progress(i+1, loss)
		}
	}
	return losses, nil
}

// LogProb returns log q(theta_i | ctx_i) for n pairs: ctx [n][ContextDim]
// (nil when ContextDim is 0) and theta [n][Dim].
func (f *Flow) LogProb(ctx, theta []float64, n int) ([]float64, error) {
	if len(theta) != n*f.Config.Dim || len(ctx) != n*f.ContextDim {
		return nil, fmt.Errorf("tutorial.Flow.LogProb: %d contexts and %d values for %d points", len(ctx), len(theta), n)
	}
	if f.logProb == nil {
		cfg := f.Config
		var err error
		if f.ContextDim > 0 {
			f.logProb, err = model.NewExec(f.backend, f.store, func(s *model.Scope, c, x *graph.Node) *graph.Node {
				return flows.LogProb(s.At("flow"), cfg, c, x)
			})
		} else {
			f.logProb, err = model.NewExec(f.backend, f.store, func(s *model.Scope, x *graph.Node) *graph.Node {
				return flows.LogProb(s.At("flow"), cfg, nil, x)
			})
		}
		if err != nil {
			return nil, fmt.Errorf("tutorial.Flow.LogProb: %w", err)
		}
	}
	args := []any{tensors.FromFlatDataAndDimensions(toF32(theta), n, f.Config.Dim)}
	if f.ContextDim > 0 {
		args = append([]any{tensors.FromFlatDataAndDimensions(toF32(ctx), n, f.ContextDim)}, args...)
	}
	out, err := f.logProb.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("tutorial.Flow.LogProb: %w", err)
	}
	return toF64(tensors.MustCopyFlatData[float32](out[0])), nil
}

// Sample draws s samples of q(theta | ctx_i) for each of the n contexts in
// ctx ([n][ContextDim]; for an unconditional flow ctx is nil and n is 1),
// from standard-normal noise drawn with rng. The result is laid out
// [n][s][Dim].
func (f *Flow) Sample(ctx []float64, n, s int, rng *rand.Rand) ([]float64, error) {
	if n < 1 || s < 1 || len(ctx) != n*f.ContextDim || (f.ContextDim == 0 && n != 1) {
		return nil, fmt.Errorf("tutorial.Flow.Sample: %d contexts for n = %d (context dimension %d), s = %d", len(ctx), n, f.ContextDim, s)
	}
	if f.sample == nil {
		cfg := f.Config
		var err error
		if f.ContextDim > 0 {
			f.sample, err = model.NewExec(f.backend, f.store, func(sc *model.Scope, c, z *graph.Node) *graph.Node {
				return flows.Sample(sc.At("flow"), cfg, c, z)
			})
		} else {
			f.sample, err = model.NewExec(f.backend, f.store, func(sc *model.Scope, z *graph.Node) *graph.Node {
				return flows.Sample(sc.At("flow"), cfg, nil, z)
			})
		}
		if err != nil {
			return nil, fmt.Errorf("tutorial.Flow.Sample: %w", err)
		}
	}
	noise := make([]float32, n*s*f.Config.Dim)
	for i := range noise {
		noise[i] = float32(rng.NormFloat64())
	}
	args := []any{tensors.FromFlatDataAndDimensions(noise, n, s, f.Config.Dim)}
	if f.ContextDim > 0 {
		args = append([]any{tensors.FromFlatDataAndDimensions(toF32(ctx), n, f.ContextDim)}, args...)
	}
	out, err := f.sample.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("tutorial.Flow.Sample: %w", err)
	}
	return toF64(tensors.MustCopyFlatData[float32](out[0])), nil
}

// savedFlow is the gob encoding of a Flow: its configuration and trainable
// variables (float32).
type savedFlow struct {
	Config     flows.Config
	ContextDim int
	Steps      int
	Vars       []savedVar
}

type savedVar struct {
	Path string
	Dims []int
	Data []float32
}

// Save writes the flow's configuration and trained weights (not the
// optimiser state) to path, creating its directory.
func (f *Flow) Save(path string) error {
	sv := savedFlow{Config: f.Config, ContextDim: f.ContextDim, Steps: f.steps}
	for v := range f.store.IterVariables() {
		if !v.Trainable || v.DType() != dtypes.Float32 {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("saving flow to %s: variable %s: %w", path, v.Path(), err)
		}
		sv.Vars = append(sv.Vars, savedVar{Path: v.Path(), Dims: slices.Clone(v.Shape().Dimensions), Data: tensors.MustCopyFlatData[float32](t)})
	}
	if len(sv.Vars) == 0 {
		return fmt.Errorf("saving flow to %s: the flow has no variables yet (train or evaluate it first)", path)
	}
	slices.SortFunc(sv.Vars, func(a, b savedVar) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("saving flow: %w", err)
	}
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("saving flow: %w", err)
	}
	if err := gob.NewEncoder(fh).Encode(sv); err != nil {
		fh.Close()
		return fmt.Errorf("saving flow to %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("saving flow to %s: %w", path, err)
	}
	return nil
}

// LoadFlow reads a flow written by Save.
func LoadFlow(path string) (*Flow, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading flow: %w", err)
	}
	defer fh.Close()
	var sv savedFlow
	if err := gob.NewDecoder(fh).Decode(&sv); err != nil {
		return nil, fmt.Errorf("loading flow from %s: %w", path, err)
	}
	f, err := NewFlow(sv.Config, sv.ContextDim)
	if err != nil {
		return nil, fmt.Errorf("loading flow from %s: %w", path, err)
	}
	f.steps = sv.Steps
	for _, v := range sv.Vars {
		n := 1
		for _, d := range v.Dims {
			n *= d
		}
		if n != len(v.Data) {
			return nil, fmt.Errorf("loading flow from %s: variable %s has %d values for shape %v", path, v.Path, len(v.Data), v.Dims)
		}
		if _, err := f.store.CreateVariable(v.Path, tensors.FromFlatDataAndDimensions(v.Data, v.Dims...)); err != nil {
			return nil, fmt.Errorf("loading flow from %s: %w", path, err)
		}
	}
	return f, nil
}

// Steps returns the number of training steps the flow has taken.
func (f *Flow) Steps() int { return f.steps }

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func toF64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
