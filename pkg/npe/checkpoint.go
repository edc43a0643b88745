package npe

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lenssbi/lenssbi/pkg/internal/atomicfile"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/lenssbi/lenssbi/pkg/prep"
)

// A model directory holds:
//
//	model.json    Card: configuration, preparation, parameter transform, data
//	              provenance, training state and history (human readable)
//	weights.bin   every variable of the store (network weights and, while
//	              training, the optimiser state) in lenssbi's weights format
//
// Both files are written to temporary names in the same directory, synced
// and renamed, weights first, so the directory always holds a complete,
// consistent pair: an interrupted save leaves the previous checkpoint.
const (
	cardFile     = "model.json"
	weightsFile  = "weights.bin"
	weightsMagic = "LENSSBIW"
)

// Card describes a trained (or training) model.
type Card struct {
	Format    int         `json:"format"`
	Version   string      `json:"lenssbi_version"`
	Config    Config      `json:"config"`
	Prep      prep.Config `json:"prep"`
	Transform Transform   `json:"transform"`
	NX        int         `json:"nx"`
	NY        int         `json:"ny"`
	Bands     []string    `json:"bands"`
	Data      DataInfo    `json:"data"`
	State     TrainState  `json:"state"`
	// Components lists the models a combined marginal model's networks
	// come from (Combine); empty for a model trained as a whole.
	Components []Component `json:"components,omitempty"`
	// NoiseCalibration, when set, scales the base noise of each parameter's
	// flow at sampling time (Calibrate; marginal mode only).
	NoiseCalibration *NoiseCalibration `json:"noise_calibration,omitempty"`
	// Views is the number of symmetries of the pixel grid the posterior is
	// averaged over at sampling time (views.go; 0 or 1: none). Calibrate
	// sets it.
	Views int `json:"views,omitempty"`
	// Metrics holds held-out results written by evaluate (optional).
	Metrics map[string]any `json:"metrics,omitempty"`
}

// DataInfo records what the model was trained on.
type DataInfo struct {
	Train      string `json:"train"`
	Validation string `json:"validation,omitempty"`
	Preset     string `json:"preset"`
	Seed       uint64 `json:"seed"`
	NTrain     int    `json:"n_train"`
	NVal       int    `json:"n_val"`
	OnTheFly   bool   `json:"on_the_fly,omitempty"`
	// FlyOffset is the index of the first simulated lens of an on-the-fly
	// run's stream: epoch e draws lenses FlyOffset + e*NTrain onwards. A
	// run fine-tuned from an on-the-fly model of the same preset and seed
	// starts where that model's stream ended, so it sees fresh lenses too.
	FlyOffset int `json:"fly_offset,omitempty"`
	// InitFrom is the model whose weights started this run (fine-tuning,
	// TrainOptions.InitFrom), with the epochs it had trained; empty for a
	// run from random weights.
	InitFrom       string `json:"init_from,omitempty"`
	InitFromEpochs string `json:"init_from_epochs,omitempty"`
	// InitFromSeconds is the training time behind the initial weights
	// (the starting model's, its own starting model's included).
	InitFromSeconds float64 `json:"init_from_seconds,omitempty"`
	// SimVersion is the simulator output version (the SIMVER keyword,
	// simulate.OutputVersion) of the FITS files given as training data;
	// 0 when they do not record it (written before 2026-11-27).
	SimVersion int `json:"sim_version,omitempty"`
	// FlySimVersion is the simulator output version that drew an
	// on-the-fly run's training lenses.
	FlySimVersion int `json:"fly_sim_version,omitempty"`
}

// SimVersionText describes the simulator output versions of the data:
// "simulator output version 1", "simulator output version not recorded",
// or for an on-the-fly run "simulator output version 1 (FITS data: not
// recorded)" when the FITS files differ from the simulator.
func (d DataInfo) SimVersionText() string {
	if !d.OnTheFly || d.FlySimVersion == d.SimVersion {
		return SimVersionText(max(d.SimVersion, d.FlySimVersion))
	}
	return fmt.Sprintf("%s (FITS data: %s)", SimVersionText(d.FlySimVersion), simVersionNumber(d.SimVersion))
}

// SimVersionText describes one simulator output version (a SIMVER value):
// "simulator output version 1", or "... not recorded" for 0.
func SimVersionText(v int) string { return "simulator output version " + simVersionNumber(v) }

// simVersionNumber is v, or "not recorded" for 0.
func simVersionNumber(v int) string {
	if v <= 0 {
		return "not recorded"
	}
	return fmt.Sprint(v)
}

// TrainState is the resumable progress of training.
type TrainState struct {
	Epoch        int           `json:"epoch"` // completed epochs
	Step         int64         `json:"step"`
	BestValLoss  float64       `json:"best_val_loss"`
	BestEpoch    int           `json:"best_epoch"`
	SinceBest    int           `json:"epochs_since_best"`
	Done         bool          `json:"done"`
	StopReason   string        `json:"stop_reason,omitempty"`
	Seconds      float64       `json:"train_seconds"`
	ImagesPerSec float64       `json:"images_per_second"`
	Machine      string        `json:"machine"`
	Backend      string        `json:"backend"`
	Devices      int           `json:"devices,omitempty"` // devices trained on in data parallel (latest call)
	History      []EpochRecord `json:"history"`
	Updated      time.Time     `json:"updated"`
}

// EpochRecord is one epoch's losses (negative mean log-probability in flow
// space, summed over parameters).
type EpochRecord struct {
	Epoch        int     `json:"epoch"`
	TrainLoss    float64 `json:"train_loss"`
	ValLoss      float64 `json:"val_loss"`
	LearningRate float64 `json:"learning_rate"`
	Seconds      float64 `json:"seconds"`
}

// saveWeights writes every variable of store (sorted by path) to path
// atomically: a temporary file in the same directory, synced, then renamed.
func saveWeights(store *model.Store, path string) error {
	type entry struct {
		Path      string `json:"path"`
		DType     string `json:"dtype"`
		Dims      []int  `json:"dims"`
		Trainable bool   `json:"trainable"`
		Offset    int64  `json:"offset"`
		Bytes     int64  `json:"bytes"`
	}
	var entries []entry
	var vars []*model.Variable
	for v := range store.IterVariables() {
		vars = append(vars, v)
	}
	slices.SortFunc(vars, func(a, b *model.Variable) int {
		switch {
		case a.Path() < b.Path():
			return -1
		case a.Path() > b.Path():
			return 1
		}
		return 0
	})
	var off int64
	for _, v := range vars {
		sh := v.Shape()
		n := int64(sh.Memory())
		entries = append(entries, entry{Path: v.Path(), DType: sh.DType.String(), Dims: slices.Clone(sh.Dimensions), Trainable: v.Trainable, Offset: off, Bytes: n})
		off += n
	}
	hdr, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	tmp, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer tmp.Abort()
	w := bufio.NewWriterSize(tmp, 1<<20)
	w.WriteString(weightsMagic)
	binary.Write(w, binary.LittleEndian, uint64(len(hdr)))
	w.Write(hdr)
	for _, v := range vars {
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("writing %s: variable %s: %w", path, v.Path(), err)
		}
		var werr error
		if err := t.ConstBytes(func(b []byte) { _, werr = w.Write(b) }); err != nil {
			return fmt.Errorf("writing %s: variable %s: %w", path, v.Path(), err)
		}
		if werr != nil {
			return fmt.Errorf("writing %s: %w", path, werr)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return tmp.Commit()
}

// loadWeights creates the variables stored in path in store (which must not
// hold them yet). With trainableOnly, optimiser state is skipped.
func loadWeights(store *model.Store, path string, trainableOnly bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	magic := make([]byte, len(weightsMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != weightsMagic {
		return fmt.Errorf("reading %s: not a lenssbi weights file", path)
	}
	var n uint64
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || n > 1<<28 {
		return fmt.Errorf("reading %s: corrupt header", path)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return fmt.Errorf("reading %s: truncated header", path)
	}
	var entries []struct {
		Path      string `json:"path"`
		DType     string `json:"dtype"`
		Dims      []int  `json:"dims"`
		Trainable bool   `json:"trainable"`
		Offset    int64  `json:"offset"`
		Bytes     int64  `json:"bytes"`
	}
	if err := json.Unmarshal(hdr, &entries); err != nil {
		return fmt.Errorf("reading %s: corrupt header: %w", path, err)
	}
	base := int64(len(weightsMagic)) + 8 + int64(n)
	var total int64
	for _, e := range entries {
		total += e.Bytes
	}
	if base+total != st.Size() {
		return fmt.Errorf("reading %s: file is %d bytes, header describes %d (truncated or corrupt)", path, st.Size(), base+total)
	}
	for _, e := range entries {
		dt, err := dtypes.DTypeString(e.DType)
		if err != nil {
			return fmt.Errorf("reading %s: variable %s: %w", path, e.Path, err)
		}
		sh := shapes.Make(dt, e.Dims...)
		if int64(sh.Memory()) != e.Bytes {
			return fmt.Errorf("reading %s: variable %s: %d bytes for shape %s", path, e.Path, e.Bytes, sh)
		}
		t := tensors.FromShape(sh)
		var rerr error
		if err := t.MutableBytes(func(b []byte) { _, rerr = io.ReadFull(r, b) }); err != nil {
			return fmt.Errorf("reading %s: variable %s: %w", path, e.Path, err)
		}
		if rerr != nil {
			return fmt.Errorf("reading %s: variable %s: %w", path, e.Path, rerr)
		}
		if trainableOnly && !e.Trainable {
			continue
		}
		v, err := store.CreateVariable(e.Path, t)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		v.SetTrainable(e.Trainable)
	}
	return nil
}

// RecordMetrics stores held-out results in dir/model.json (atomically),
// under key (e.g. the test set's name).
func RecordMetrics(dir, key string, metrics any) (*Card, error) {
	c, err := ReadCard(dir)
	if err != nil {
		return nil, err
	}
	if c.Metrics == nil {
		c.Metrics = map[string]any{}
	}
	c.Metrics[key] = metrics
	if err := writeCard(dir, c); err != nil {
		return nil, err
	}
	return c, nil
}

// writeCard writes model.json atomically.
func writeCard(dir string, c *Card) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, cardFile), append(b, '\n'))
}

// ReadCard reads and validates dir/model.json.
func ReadCard(dir string) (*Card, error) {
	path := filepath.Join(dir, cardFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no model here (missing %s)", dir, cardFile)
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var c Card
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := c.Config.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Prep.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Transform.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.NX <= 0 || c.NY <= 0 || len(c.Bands) == 0 {
		return nil, fmt.Errorf("%s: missing image geometry", path)
	}
	if err := c.NoiseCalibration.validate(c.Config.Mode, len(c.Config.Targets)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
