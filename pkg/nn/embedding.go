package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Readouts accepted by EmbeddingConfig.Readout.
const (
	// ReadoutMean averages the last feature map over height and width
	// (global average pooling): translation invariant, few parameters.
	ReadoutMean = "mean"
	// ReadoutFlatten flattens the last feature map, keeping where in the
	// cutout each feature is, at the cost of H*W times more head weights.
	ReadoutFlatten = "flatten"
)

// Coordinate channels accepted by EmbeddingConfig.Coords.
const (
	// CoordsNone feeds the prepared bands only.
	CoordsNone = ""
	// CoordsRadius appends one channel holding each pixel's distance from
	// the cutout centre, in units of half the cutout's smaller side (0 at
	// the centre, about 1 at the middle of an edge). Lens cutouts are centred on
	// the deflector, so the channel tells convolutions how far from the
	// deflector they look -- what an Einstein radius is -- while global
	// pooling keeps the embedding invariant to rotations about the centre
	// (CoordConv, Liu et al. 2018, restricted to the radial coordinate).
	CoordsRadius = "radius"
)

// EmbeddingConfig describes the image-embedding network built by Embedding:
//
//	3x3 stem conv -> [2x2 mean pool] -> Inception blocks, each optionally
//	followed by a 2x2 mean pool -> readout -> [dense + activation] -> dense
type EmbeddingConfig struct {
	// StemChannels is the output width of the 3 x 3 stem convolution.
	StemChannels int
	// StemPool puts a 2 x 2 mean pool after the stem.
	StemPool bool
	// Blocks are the Inception blocks, in order. A block whose Activation or
	// Norm is empty takes the network's.
	Blocks []InceptionConfig
	// BlockPool[i] puts a 2 x 2 mean pool after block i. Nil means a pool
	// after every block but the last; otherwise it needs one entry a block.
	BlockPool []bool
	// Readout turns the last feature map into a vector: ReadoutMean (or "")
	// or ReadoutFlatten.
	Readout string
	// Hidden, when positive, adds a dense layer of that width (with the
	// activation) between the readout and the output.
	Hidden int
	// EmbedDim is the size of the embedding (the output, linear).
	EmbedDim int
	// Activation: "relu" (or "") or "silu".
	Activation string
	// Norm after every convolution: "none" (or "") or "layer".
	Norm string
	// Coords adds coordinate channels to the input: CoordsNone or
	// CoordsRadius.
	Coords string `json:",omitempty"`
}

// DefaultEmbeddingConfig returns the compact network used by lenssbi for
// 48 x 48 g r i z cutouts: a 16-channel 3 x 3 stem and a 2 x 2 pool
// (24 x 24), Inception blocks of 40, 80 and 128 channels at 24 x 24, 12 x 12
// and 6 x 6, global average pooling and a dense layer to 64 outputs, ReLU,
// no normalisation: 47,488 parameters. On the pure-Go backend (2 cores,
// GOEXPERIMENT=simd, the frame layout) it trains at ~400 images/s with
// batch 64 and Adam, about a minute for a 25,000-image epoch, and embeds
// ~1,700 images/s in graph calls of 125 images (BenchmarkTrainStep,
// BenchmarkInference).
func DefaultEmbeddingConfig() EmbeddingConfig {
	return EmbeddingConfig{
		StemChannels: 16,
		StemPool:     true,
		Blocks: []InceptionConfig{
			{C1: 8, C3Reduce: 8, C3: 16, C5Reduce: 4, C5: 8, CPool: 8},
			{C1: 16, C3Reduce: 16, C3: 32, C5Reduce: 8, C5: 16, CPool: 16},
			{C1: 32, C3Reduce: 24, C3: 48, C5Reduce: 12, C5: 24, CPool: 24},
		},
		Readout:    ReadoutMean,
		EmbedDim:   64,
		Activation: ActReLU,
		Norm:       NormNone,
	}
}

// Validate reports what is wrong with c, or nil.
func (c EmbeddingConfig) Validate() error {
	var errs []error
	if c.StemChannels <= 0 {
		errs = append(errs, fmt.Errorf("StemChannels = %d, must be positive", c.StemChannels))
	}
	for i, b := range c.Blocks {
		if err := b.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("Blocks[%d]: %w", i, err))
		}
	}
	if c.BlockPool != nil && len(c.BlockPool) != len(c.Blocks) {
		errs = append(errs, fmt.Errorf("BlockPool has %d entries for %d blocks", len(c.BlockPool), len(c.Blocks)))
	}
	if c.Readout != "" && c.Readout != ReadoutMean && c.Readout != ReadoutFlatten {
		errs = append(errs, fmt.Errorf("unknown Readout %q (want %q or %q)", c.Readout, ReadoutMean, ReadoutFlatten))
	}
	if c.Coords != CoordsNone && c.Coords != CoordsRadius {
		errs = append(errs, fmt.Errorf("unknown Coords %q (want %q or none)", c.Coords, CoordsRadius))
	}
	if c.Hidden < 0 {
		errs = append(errs, fmt.Errorf("Hidden = %d, must be >= 0", c.Hidden))
	}
	if c.EmbedDim <= 0 {
		errs = append(errs, fmt.Errorf("EmbedDim = %d, must be positive", c.EmbedDim))
	}
	if !validActivation(c.Activation) {
		errs = append(errs, fmt.Errorf("unknown Activation %q (want %q or %q)", c.Activation, ActReLU, ActSiLU))
	}
	if !validNorm(c.Norm) {
		errs = append(errs, fmt.Errorf("unknown Norm %q (want %q or %q)", c.Norm, NormNone, NormLayer))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("embedding config: %w", err)
	}
	return nil
}

// PoolAfter reports whether block i is followed by a 2x2 pool.
func (c EmbeddingConfig) PoolAfter(i int) bool {
	if c.BlockPool == nil {
		return i < len(c.Blocks)-1
	}
	return c.BlockPool[i]
}

// OutputSize returns the height and width of the last feature map for an
// h x w input, and an error if a pool would meet a map smaller than 2 x 2.
func (c EmbeddingConfig) OutputSize(h, w int) (int, int, error) {
	pool := func(what string) error {
		if h < 2 || w < 2 {
			return fmt.Errorf("embedding: the 2x2 pool after %s meets a %dx%d feature map", what, h, w)
		}
		h, w = h/2, w/2
		return nil
	}
	if c.StemPool {
		if err := pool("the stem"); err != nil {
			return 0, 0, err
		}
	}
	for i := range c.Blocks {
		if c.PoolAfter(i) {
			if err := pool(fmt.Sprintf("block %d", i)); err != nil {
				return 0, 0, err
			}
		}
	}
	return h, w, nil
}

// Embedding maps images, NHWC [B, H, W, C] float32 (or float64) already
// prepared and normalised, to embeddings [B, cfg.EmbedDim].
//
// Variables, under scope: "stem" (Conv2D), "norm_stem", "block0",
// "block1", ... (Inception), "hidden" and "out" (Dense). On the Go backend
// (ParamConvImpl "frame", the default there, or "im2col") the network runs
// channel-major throughout: the images are transposed once, the Inception
// branches stay separate channel groups, and a flattened readout is put
// back in NHWC order, so all formulations share variables and give the
// same result. The frame layout (frame.go) needs finite images: a NaN or
// Inf pixel, which prep rejects, would spread to the other images of the
// batch through the canvas's zero borders.
//
// It panics (an error from model.Exec) if cfg is invalid or the images are
// too small for its pools.
func Embedding(scope *model.Scope, cfg EmbeddingConfig, images *graph.Node) *graph.Node {
	if err := cfg.Validate(); err != nil {
		panicf("Embedding: %v", err)
	}
	checkRank4("Embedding", images)
	d := images.Shape().Dimensions
	if _, _, err := cfg.OutputSize(d[1], d[2]); err != nil {
		panicf("Embedding: images %s: %v", images.Shape(), err)
	}
	n := newNet(scope, images.Graph())
	if cfg.Coords == CoordsRadius {
		images = withRadius(images)
	}
	var xs []*graph.Node
	if n.frame && cfg.frameable() && (!n.auto || d[0] >= frameMinBatch) {
		xs = n.embedFrame(scope, cfg, n.fromNHWC(images))
	} else {
		x := n.conv(scope.In("stem"), n.fromNHWC(images), cfg.StemChannels, 3)
		x = n.activate(cfg.Activation, n.normalize(scope.In("norm_stem"), cfg.Norm, x))
		if cfg.StemPool {
			x = meanPool2x2(x, n.hAxis())
		}
		xs = []*graph.Node{x}
		for i := range cfg.Blocks {
			xs = n.inception(scope.In("block%d", i), xs, cfg.block(i))
			if cfg.PoolAfter(i) {
				for j := range xs {
					xs[j] = meanPool2x2(xs[j], n.hAxis())
				}
			}
		}
	}
	var v *graph.Node
	if cfg.Readout == ReadoutFlatten {
		x := n.toNHWC(n.concat(xs))
		xd := x.Shape().Dimensions
		v = graph.Reshape(x, xd[0], xd[1]*xd[2]*xd[3])
	} else {
		v = n.globalPool(xs)
	}
	if cfg.Hidden > 0 {
		v = n.activate(cfg.Activation, Dense(scope.In("hidden"), v, cfg.Hidden))
	}
	return Dense(scope.In("out"), v, cfg.EmbedDim)
}

// block returns Blocks[i] with the network's activation and normalisation
// where the block names none.
func (c EmbeddingConfig) block(i int) InceptionConfig {
	b := c.Blocks[i]
	if b.Activation == "" {
		b.Activation = c.Activation
	}
	if b.Norm == "" {
		b.Norm = c.Norm
	}
	return b
}

// frameable reports whether the frame layout computes c: it has no
// normalisation (layer norm would count the canvas's zeros).
func (c EmbeddingConfig) frameable() bool {
	if c.Norm != "" && c.Norm != NormNone {
		return false
	}
	for i := range c.Blocks {
		if b := c.block(i); b.Norm != "" && b.Norm != NormNone {
			return false
		}
	}
	return true
}

// embedFrame is the stem and the Inception blocks of Embedding in the frame
// layout (frame.go), from channel-major images [C, B, H, W] to the last
// block's channel groups, channel-major [C_i, B, h, w]. Feature maps leave
// the layout for each 2x2 pool and come back after it.
func (n net) embedFrame(scope *model.Scope, cfg EmbeddingConfig, images *graph.Node) []*graph.Node {
	m := toFrame(images)
	m = n.convActFrame(scope.In("stem"), cfg.Activation, m, cfg.StemChannels, m.f.step())
	ms := []frameMap{m}
	// leave returns the maps channel-major [C, B, h, w], 2x2-pooled or not.
	leave := func(pool bool) []*graph.Node {
		xs := make([]*graph.Node, len(ms))
		for j, mj := range ms {
			if pool {
				xs[j] = meanPool2x2Frame(mj)
			} else {
				xs[j] = mj.dense()
			}
		}
		return xs
	}
	reframe := func(xs []*graph.Node) {
		for j, x := range xs {
			ms[j] = toFrame(x)
		}
	}
	if cfg.StemPool {
		reframe(leave(true))
	}
	last := len(cfg.Blocks) - 1
	for i := range cfg.Blocks {
		ms = n.inceptionFrame(scope.In("block%d", i), ms, cfg.block(i))
		if i == last {
			break
		}
		if cfg.PoolAfter(i) {
			reframe(leave(true))
		}
	}
	return leave(last >= 0 && cfg.PoolAfter(last))
}

// withRadius appends the CoordsRadius channel to NHWC images.
func withRadius(images *graph.Node) *graph.Node {
	d := images.Shape().Dimensions
	h, w := d[1], d[2]
	scale := float64(min(h, w)) / 2
	r := make([]float64, h*w)
	for y := range h {
		for x := range w {
			dy, dx := float64(y)-float64(h-1)/2, float64(x)-float64(w-1)/2
			r[y*w+x] = math.Sqrt(dx*dx+dy*dy) / scale
		}
	}
	c := constLike(images, r, h, w, 1)
	return graph.Concatenate([]*graph.Node{images, graph.BroadcastPrefix(c, d[0])}, 3)
}
