package npe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/dtensor"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/lenssbi/lenssbi/pkg/mlbackend"
	"github.com/lenssbi/lenssbi/pkg/nn"
	"github.com/lenssbi/lenssbi/pkg/version"
)

const (
	// checkpointFile holds the latest training state (weights and optimiser
	// moments) for resuming; weightsFile holds the best-validation weights.
	checkpointFile = "checkpoint.bin"
)

// Progress is reported to TrainOptions.OnProgress during training.
type Progress struct {
	Epoch, Epochs  int // 1-based current epoch
	Batch, Batches int // within the epoch
	Step           int64
	TrainLoss      float64 // running mean over the epoch so far
	ValLoss        float64 // set at the end of an epoch (NaN before)
	LearningRate   float64
	ImagesPerSec   float64
	EpochDone      bool
}

// TrainOptions are run-time choices that do not change the model.
type TrainOptions struct {
	// Backend is the GoMLX backend spec ("" = default; see mlbackend).
	Backend string
	// OnProgress, if set, is called every ProgressEvery steps and at the end
	// of every epoch.
	OnProgress    func(Progress)
	ProgressEvery int
	// MaxEpochs, if > 0, stops after that many epochs in this call (the
	// model stays resumable); used by tests and time-boxed runs.
	MaxEpochs int
	// Devices is the number of the backend's devices to train on in data
	// parallel (each step's batch is split along the lens axis, the weights
	// are replicated and the gradients combined by XLA's auto-sharding).
	// 0 uses, on accelerators, as many of the backend's devices as divide
	// the batch size evenly, and one device on CPUs (XLA's CPU plugin shows
	// several host devices that share the same cores; ask for them
	// explicitly, e.g. backend "xla:cpu,devices=2" with Devices 2).
	Devices int
	// InitFrom, if set, is the directory of a trained model whose
	// best-validation weights start a new run instead of random ones
	// (fine-tuning, e.g. on another preset or on fresh data with a new
	// learning-rate schedule). The model must have the same mode, targets,
	// embedding (up to its pools) and flows, image preparation, parameter
	// transform and image geometry as the card (CompatibleInit); its noise
	// calibration is not carried over. Ignored when dir holds a run to
	// resume.
	InitFrom string
}

// Trainer state kept across calls.
type trainRun struct {
	card    *Card
	dir     string
	backend compute.Backend
	store   *model.Store
	trainer *train.Trainer
	evalExe *model.Exec
	// Data-parallel training over several devices (nil: one device).
	shard   *distributed.ShardingSpec
	devices []compute.DeviceNum
}

// Train trains the model described by card (Config, Prep, Transform,
// geometry and Data must be filled) into dir, or resumes it when dir holds
// an unfinished training run with the same configuration. It checkpoints
// after every epoch (atomically) and keeps the weights with the best
// validation loss in dir/weights.bin. It returns the final card.
func Train(ctx context.Context, dir string, card Card, trainSrc, valSrc Source, opt TrainOptions) (*Card, error) {
	if err := card.Config.Validate(); err != nil {
		return nil, err
	}
	if err := card.Transform.Validate(); err != nil {
		return nil, err
	}
	// A fine-tuning run's starting model is checked before anything is
	// written (a run to resume ignores it).
	var from *Card
	if _, err := os.Stat(filepath.Join(dir, cardFile)); opt.InitFrom != "" && errors.Is(err, os.ErrNotExist) {
		if from, err = ReadCard(opt.InitFrom); err != nil {
			return nil, fmt.Errorf("initial weights: %w", err)
		}
		if err := CompatibleInit(from, &card); err != nil {
			return nil, fmt.Errorf("initial weights from %s: %w", opt.InitFrom, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating model directory: %w", err)
	}
	b, err := mlbackend.New(opt.Backend)
	if err != nil {
		return nil, err
	}
	run := &trainRun{dir: dir, backend: b, store: model.NewStore()}
	run.store.RootScope().SetParam(nn.ParamSeed, int64(card.Config.Seed))

	// Resume?
	if prev, err := ReadCard(dir); err == nil {
		if prev.State.Done {
			return prev, fmt.Errorf("%s: training already finished (%s); choose another --out to train anew", dir, prev.State.StopReason)
		}
		if !sameArchitecture(prev.Config, card.Config) {
			return nil, fmt.Errorf("%s holds a run with a different configuration; choose another --out", dir)
		}
		ck := filepath.Join(dir, checkpointFile)
		if err := loadWeights(run.store, ck, false); err != nil {
			return nil, fmt.Errorf("resuming from %s: %w", dir, err)
		}
		// The data may be named anew; where the weights started may not.
		was := prev.Data
		prev.Data = card.Data
		prev.Data.InitFrom, prev.Data.InitFromEpochs, prev.Data.InitFromSeconds = was.InitFrom, was.InitFromEpochs, was.InitFromSeconds
		card = *prev
	} else if _, statErr := os.Stat(filepath.Join(dir, cardFile)); statErr == nil {
		return nil, err // a card exists but is unreadable
	} else {
		card.Format = 1
		card.Version = version.Version
		card.State = TrainState{BestValLoss: math.Inf(1), BestEpoch: -1}
		if from != nil {
			if err := loadWeights(run.store, filepath.Join(opt.InitFrom, weightsFile), true); err != nil {
				return nil, fmt.Errorf("initial weights: %w", err)
			}
			card.Data.InitFrom, card.Data.InitFromEpochs = opt.InitFrom, from.EpochsText()
			card.Data.InitFromSeconds = secondsBehind(from)
		}
	}
	devices, err := chooseDevices(b, card.Config.BatchSize, opt.Devices)
	if err != nil {
		return nil, err
	}
	if devices > 1 {
		mesh, err := distributed.NewDeviceMesh([]int{devices}, []string{"batch"})
		if err != nil {
			return nil, err
		}
		if run.shard, err = distributed.BuildSpec(mesh).S("batch").Done(); err != nil {
			return nil, err
		}
		for d := range devices {
			run.devices = append(run.devices, compute.DeviceNum(d))
		}
	}
	card.State.Backend = mlbackend.Label(b)
	card.State.Devices = devices
	card.State.Machine = fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	run.card = &card
	cfg := card.Config

	modelFn := func(scope *model.Scope, _ any, inputs []*graph.Node) []*graph.Node {
		return []*graph.Node{cfg.logProbGraph(scope, inputs[0], inputs[1])}
	}
	lossFn := func(_, predictions []*graph.Node) *graph.Node {
		return graph.Neg(graph.ReduceAllMean(predictions[0]))
	}
	batches := trainSrc.LensesPerEpoch() / cfg.BatchSize
	totalSteps := int64(cfg.Epochs * batches)
	// The trainer re-creates the learning-rate variable (it is not restored
	// from a checkpoint): start it at the schedule's value for this step.
	adam := optimizer.Adam().LearningRate(cosineLR(cfg, card.State.Step, totalSteps)).Done()
	run.trainer = train.NewTrainer(b, run.store, modelFn, lossFn, clipOptimizer{inner: adam, clip: cfg.ClipNorm}, nil, nil)
	run.evalExe, err = model.NewExec(b, run.store, func(scope *model.Scope, images, theta *graph.Node) *graph.Node {
		return cfg.logProbGraph(scope, images, theta)
	})
	if err != nil {
		return nil, err
	}

	// Read and prepare the next batches while a step runs (the simulator
	// source already runs ahead on its own).
	if _, sim := trainSrc.(*SimSource); !sim {
		pf := newPrefetch(trainSrc, 2)
		defer pf.halt()
		trainSrc = pf
	}
	pv := newPrefetch(valSrc, 2)
	defer pv.halt()
	valSrc = pv

	aug := &augmenter{kind: cfg.Augment, seed: cfg.Seed}
	startEpoch := card.State.Epoch
	epochsThisCall := 0
	var batch Batch
	for epoch := startEpoch; epoch < cfg.Epochs; epoch++ {
		if opt.MaxEpochs > 0 && epochsThisCall >= opt.MaxEpochs {
			break
		}
		t0 := time.Now()
		if err := trainSrc.Epoch(epoch); err != nil {
			return nil, err
		}
		var sum float64
		var n int
		lr := cfg.LearningRate
		for k := 0; ; k++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			err := trainSrc.Next(&batch)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("training data: %w", err)
			}
			aug.apply(&batch, card.State.Step)
			lr = cosineLR(cfg, card.State.Step, totalSteps)
			if err := setLearningRate(run.store, lr); err != nil {
				return nil, err
			}
			metrics, err := run.step(&batch)
			if err != nil {
				return nil, fmt.Errorf("training step %d: %w", card.State.Step, err)
			}
			loss := scalarValue(metrics[0])
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, fmt.Errorf("training diverged: loss is %v at epoch %d, step %d (lower --lr or --clip-norm; the last good checkpoint is in %s)", loss, epoch+1, card.State.Step, dir)
			}
			card.State.Step++
			sum += loss
			n++
			if opt.OnProgress != nil && opt.ProgressEvery > 0 && (k+1)%opt.ProgressEvery == 0 {
				el := time.Since(t0).Seconds()
				opt.OnProgress(Progress{Epoch: epoch + 1, Epochs: cfg.Epochs, Batch: k + 1, Batches: batches, Step: card.State.Step,
					TrainLoss: sum / float64(n), ValLoss: math.NaN(), LearningRate: lr, ImagesPerSec: float64(n*cfg.BatchSize) / el})
			}
		}
		if n == 0 {
			return nil, errors.New("training data: an epoch delivered no batch")
		}
		trainSecs := time.Since(t0).Seconds()
		valLoss, err := run.meanLoss(valSrc, epoch)
		if err != nil {
			return nil, fmt.Errorf("validation: %w", err)
		}
		st := &card.State
		st.Epoch = epoch + 1
		st.Seconds += time.Since(t0).Seconds()
		st.ImagesPerSec = float64(n*cfg.BatchSize) / trainSecs
		st.History = append(st.History, EpochRecord{Epoch: epoch + 1, TrainLoss: sum / float64(n), ValLoss: valLoss, LearningRate: lr, Seconds: time.Since(t0).Seconds()})
		improved := valLoss < st.BestValLoss
		if improved {
			st.BestValLoss, st.BestEpoch, st.SinceBest = valLoss, epoch+1, 0
		} else {
			st.SinceBest++
		}
		if st.Epoch >= cfg.Epochs {
			st.Done, st.StopReason = true, fmt.Sprintf("reached %d epochs", cfg.Epochs)
		} else if cfg.Patience > 0 && st.SinceBest >= cfg.Patience {
			st.Done, st.StopReason = true, fmt.Sprintf("early stopping: no validation improvement for %d epochs (best epoch %d)", cfg.Patience, st.BestEpoch)
		}
		st.Updated = time.Now().UTC()
		if err := run.save(improved); err != nil {
			return nil, err
		}
		epochsThisCall++
		if opt.OnProgress != nil {
			opt.OnProgress(Progress{Epoch: epoch + 1, Epochs: cfg.Epochs, Batch: n, Batches: batches, Step: st.Step,
				TrainLoss: sum / float64(n), ValLoss: valLoss, LearningRate: lr, ImagesPerSec: st.ImagesPerSec, EpochDone: true})
		}
		if st.Done {
			break
		}
	}
	return &card, nil
}

// chooseDevices returns the number of devices to train on: want when set
// (it must exist and divide the batch size), else one on a CPU backend and
// the most devices of an accelerator backend that divide the batch size.
func chooseDevices(b compute.Backend, batch, want int) (int, error) {
	have := b.NumDevices()
	if want == 0 && strings.HasPrefix(strings.ToLower(b.DeviceDescription(0)), "cpu") {
		return 1, nil
	}
	if want > 0 {
		if want > have {
			return 0, fmt.Errorf("npe: %d devices asked for, but backend %s has %d", want, b.Name(), have)
		}
		if batch%want != 0 {
			return 0, fmt.Errorf("npe: batch size %d does not split evenly over %d devices", batch, want)
		}
		return want, nil
	}
	for n := have; n > 1; n-- {
		if batch%n == 0 {
			return n, nil
		}
	}
	return 1, nil
}

// step runs one training step on the batch: on one device, or split along
// the lens axis over the run's devices.
func (r *trainRun) step(b *Batch) ([]*tensors.Tensor, error) {
	imgs, theta := batchTensors(b)
	if r.shard == nil {
		return r.trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{imgs, theta}})
	}
	defer imgs.FinalizeAll()
	defer theta.FinalizeAll()
	if b.N%len(r.devices) != 0 {
		return nil, fmt.Errorf("a batch of %d lenses does not split over %d devices", b.N, len(r.devices))
	}
	di, err := dtensor.ShardTensor(r.shard, imgs)
	if err != nil {
		return nil, err
	}
	dt, err := dtensor.ShardTensor(r.shard, theta)
	if err != nil {
		di.Finalize()
		return nil, err
	}
	return r.trainer.DistributedTrainStep(distributed.AutoSharding, r.devices,
		train.DistributedBatch{Inputs: []*dtensor.Tensor{di, dt}})
}

// save writes the checkpoint (always), the best weights (when improved) and
// the card, in an order that keeps the directory consistent at every moment.
func (r *trainRun) save(improved bool) error {
	if improved {
		if err := saveWeights(trainableOnly(r.store), filepath.Join(r.dir, weightsFile)); err != nil {
			return err
		}
	}
	if r.card.State.Done {
		os.Remove(filepath.Join(r.dir, checkpointFile))
	} else if err := saveWeights(r.store, filepath.Join(r.dir, checkpointFile)); err != nil {
		return err
	}
	return writeCard(r.dir, r.card)
}

// trainableOnly returns a store view holding the trainable variables only
// (the network), sharing their values.
func trainableOnly(s *model.Store) *model.Store {
	out := model.NewStore()
	for v := range s.IterVariables() {
		if !v.Trainable {
			continue
		}
		if t, err := v.Value(); err == nil {
			out.CreateVariable(v.Path(), t)
		}
	}
	return out
}

// meanLoss is the mean negative log-probability over the validation source.
func (r *trainRun) meanLoss(src Source, epoch int) (float64, error) {
	if err := src.Epoch(0); err != nil {
		return 0, err
	}
	var b Batch
	var sum float64
	var n int
	for {
		err := src.Next(&b)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		imgs, theta := batchTensors(&b)
		out, err := r.evalExe.Call1(imgs, theta)
		if err != nil {
			return 0, err
		}
		tensors.MustConstFlatData(out, func(lp []float32) {
			for _, v := range lp {
				sum -= float64(v)
				n++
			}
		})
		out.FinalizeAll()
		imgs.FinalizeAll()
		theta.FinalizeAll()
	}
	if n == 0 {
		return 0, errors.New("validation set delivered no batch")
	}
	return sum / float64(n), nil
}

func batchTensors(b *Batch) (*tensors.Tensor, *tensors.Tensor) {
	imgs := tensors.FromFlatDataAndDimensions(append([]float32(nil), b.Images...), b.N, b.H, b.W, b.C)
	theta := tensors.FromFlatDataAndDimensions(append([]float32(nil), b.Theta...), b.N, b.D)
	return imgs, theta
}

func scalarValue(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	return math.NaN()
}

// cosineLR decays the learning rate from LearningRate to MinLearningRate
// over the whole run along a half cosine.
func cosineLR(c Config, step, total int64) float64 {
	if total <= 0 {
		return c.LearningRate
	}
	f := math.Min(1, float64(step)/float64(total))
	return c.MinLearningRate + 0.5*(c.LearningRate-c.MinLearningRate)*(1+math.Cos(math.Pi*f))
}

func setLearningRate(s *model.Store, lr float64) error {
	v := s.GetVariable(model.JoinPath("/", optimizer.Scope, optimizer.ParamLearningRate))
	if v == nil {
		return nil // created by the first step's graph
	}
	return v.SetValue(tensors.FromScalar(float32(lr)))
}

// CompatibleInit reports why a trained model's weights cannot start
// training of card (nil when they can): the networks (mode, targets,
// embedding, flows), the image preparation, the parameter transform and
// the image geometry must be the same, so that the weights mean the same
// thing in the new run. The embedding's pools (StemPool, BlockPool) may
// differ when every weight keeps its shape: the convolutions then start
// from the model's filters at another resolution. A model still training
// is refused: only its best-validation weights would be used, which may
// not be what was meant.
func CompatibleInit(from, card *Card) error {
	a, b := from.Config, card.Config
	// The flows' seed only seeds initial values, which the weights replace.
	fa, fb := a.Flow, b.Flow
	fa.Seed, fb.Seed = 0, 0
	switch {
	case !from.State.Done:
		return errors.New("the model has not finished training")
	case a.Mode != b.Mode:
		return fmt.Errorf("mode %s, the new run's is %s", a.Mode, b.Mode)
	case !slices.Equal(a.Targets, b.Targets):
		return fmt.Errorf("targets %v, the new run's are %v", a.Targets, b.Targets)
	case from.NX != card.NX || from.NY != card.NY || !slices.Equal(from.Bands, card.Bands):
		return fmt.Errorf("images %dx%d %v, the new run's are %dx%d %v", from.NX, from.NY, from.Bands, card.NX, card.NY, card.Bands)
	}
	nets := []string{""} // joint mode: one embedding
	if a.Mode == ModeMarginal {
		nets = a.Targets
	}
	for _, t := range nets {
		if err := initEmbedding(a.EmbeddingOf(t), b.EmbeddingOf(t), from, card); err != nil {
			if t != "" {
				return fmt.Errorf("the %s network: %w", t, err)
			}
			return err
		}
	}
	for _, c := range []struct {
		what string
		x, y any
	}{{"flows", fa, fb}, {"image preparation", from.Prep, card.Prep}, {"parameter transform", from.Transform, card.Transform}} {
		if err := sameJSON(c.what, c.x, c.y); err != nil {
			return err
		}
	}
	return nil
}

// sameJSON reports how x (the initial model's) and y (the new run's) differ
// when their JSON forms do, naming them what.
func sameJSON(what string, x, y any) error {
	jx, err := jsonString(x)
	if err != nil {
		return err
	}
	jy, err := jsonString(y)
	if err != nil {
		return err
	}
	if jx != jy {
		return fmt.Errorf("its %s differs from the new run's: %s vs %s", what, jx, jy)
	}
	return nil
}

// initEmbedding reports why weights of embedding network ea (of model from)
// cannot start network eb (of card). The pools hold no weights: a run may
// pool where the model did not (e.g. keep the full resolution in the first
// block), provided the last feature map keeps its size when the readout
// flattens it.
func initEmbedding(ea, eb nn.EmbeddingConfig, from, card *Card) error {
	if ea.StemPool != eb.StemPool || !slices.Equal(blockPools(ea), blockPools(eb)) {
		ha, wa, erra := ea.OutputSize(from.NY, from.NX)
		hb, wb, errb := eb.OutputSize(card.NY, card.NX)
		if err := errors.Join(erra, errb); err != nil {
			return err
		}
		if eb.Readout == nn.ReadoutFlatten && (ha != hb || wa != wb) {
			return fmt.Errorf("its last feature map is %dx%d, the new run's %dx%d: the flattened readout's weights do not fit", ha, wa, hb, wb)
		}
		ea.StemPool, ea.BlockPool = eb.StemPool, eb.BlockPool
	}
	return sameJSON("embedding", ea, eb)
}

// blockPools returns, block by block, whether a 2x2 pool follows it.
func blockPools(c nn.EmbeddingConfig) []bool {
	p := make([]bool, len(c.Blocks))
	for i := range p {
		p[i] = c.PoolAfter(i)
	}
	return p
}

func sameArchitecture(a, b Config) bool {
	ja, _ := jsonString(a)
	jb, _ := jsonString(b)
	return ja == jb
}

// clipOptimizer clips the global gradient norm before the inner optimiser
// (Adam) applies the update.
type clipOptimizer struct {
	inner optimizer.Interface
	clip  float64
}

// UpdateGraph implements optimizer.Interface.
func (o clipOptimizer) UpdateGraph(scope *model.Scope, g *graph.Graph, loss *graph.Node) {
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	if o.clip > 0 && len(grads) > 0 {
		var sq *graph.Node
		for _, gr := range grads {
			s := graph.ReduceAllSum(graph.Square(graph.ConvertDType(gr, dtypes.Float32)))
			if sq == nil {
				sq = s
			} else {
				sq = graph.Add(sq, s)
			}
		}
		norm := graph.Sqrt(sq)
		clip := graph.Scalar(g, dtypes.Float32, o.clip)
		scale := graph.Div(clip, graph.Max(norm, clip))
		for i, gr := range grads {
			grads[i] = graph.Mul(gr, graph.ConvertDType(scale, gr.DType()))
		}
	}
	o.inner.(train.OptimizeWithGradients).UpdateGraphWithGradients(scope, grads, loss.DType())
}

// Clear implements optimizer.Interface.
func (o clipOptimizer) Clear(scope *model.Scope) error { return o.inner.Clear(scope) }

// secondsBehind is the training time behind a model's weights: its own run's
// and, when that run was itself fine-tuned, the time behind its initial
// weights. A combined model's State.Seconds already holds each source's
// time with the time behind its initial weights (Combine), and its Data is
// only its first network's, so nothing is added to it.
func secondsBehind(c *Card) float64 {
	if len(c.Components) > 0 {
		return c.State.Seconds
	}
	return c.State.Seconds + c.Data.InitFromSeconds
}

// Finish ends the unfinished training run in dir at its best-validation
// weights (weights.bin) without training: the card is marked done, with a
// stop reason naming the epochs run, and the checkpoint is removed, so the
// model can be fine-tuned from (CompatibleInit), combined or calibrated. A
// finished model, a run with no completed epoch and a directory without a
// model are refused, and nothing is changed.
func Finish(dir string) (*Card, error) {
	c, err := ReadCard(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case c.State.Done:
		return nil, fmt.Errorf("%s: training already finished (%s)", dir, c.State.StopReason)
	case c.State.Epoch < 1 || c.State.BestEpoch < 1:
		return nil, fmt.Errorf("%s: no completed epoch yet, so no weights to keep", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, weightsFile)); err != nil {
		return nil, fmt.Errorf("%s: the best-validation weights are missing: %w", dir, err)
	}
	c.State.Done = true
	c.State.StopReason = fmt.Sprintf("finished early (train --finish) after %d of %d epochs", c.State.Epoch, c.Config.Epochs)
	c.State.Updated = time.Now().UTC()
	if err := writeCard(dir, c); err != nil {
		return nil, err
	}
	// The card says done first: a run interrupted here is finished, and its
	// left-over checkpoint is never resumed.
	if err := os.Remove(filepath.Join(dir, checkpointFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return c, nil
}
