package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// embed evaluates Embedding(cfg) on images with the store's variables.
func embed(t *testing.T, store *model.Store, cfg EmbeddingConfig, images *tensors.Tensor) *tensors.Tensor {
	t.Helper()
	backend := goBackend(t)
	return within(t, graphTimeout, func() (*tensors.Tensor, error) {
		return model.CallOnce(backend, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
			return Embedding(scope.In("embed"), cfg, x)
		}, images)
	})
}

func TestDefaultEmbeddingConfig(t *testing.T) {
	cfg := DefaultEmbeddingConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h, w, err := cfg.OutputSize(48, 48)
	if err != nil || h != 6 || w != 6 {
		t.Errorf("48x48 input: last map %dx%d (%v), want 6x6", h, w, err)
	}
	if got := cfg.Blocks[2].OutChannels(); got != 128 {
		t.Errorf("last block has %d channels, want 128", got)
	}
	if _, _, err := cfg.OutputSize(4, 4); err == nil {
		t.Error("4x4 input accepted by three 2x2 pools")
	}
}

func TestEmbeddingConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*EmbeddingConfig)
		want   string
	}{
		{"stem", func(c *EmbeddingConfig) { c.StemChannels = 0 }, "StemChannels"},
		{"block", func(c *EmbeddingConfig) { c.Blocks[1].C3 = -1 }, "Blocks[1]"},
		{"pools", func(c *EmbeddingConfig) { c.BlockPool = []bool{true} }, "BlockPool"},
		{"readout", func(c *EmbeddingConfig) { c.Readout = "max" }, "Readout"},
		{"embed", func(c *EmbeddingConfig) { c.EmbedDim = 0 }, "EmbedDim"},
		{"activation", func(c *EmbeddingConfig) { c.Activation = "tanh" }, "Activation"},
		{"norm", func(c *EmbeddingConfig) { c.Norm = "batch" }, "Norm"},
		{"coords", func(c *EmbeddingConfig) { c.Coords = "xy" }, "Coords"},
		{"block activation", func(c *EmbeddingConfig) { c.Blocks[0].Activation = "gelu" }, "activation"},
	} {
		cfg := DefaultEmbeddingConfig()
		cfg.Blocks = append([]InceptionConfig(nil), cfg.Blocks...)
		tc.modify(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}

// TestEmbeddingErrors: bad configurations and inputs are errors from
// model.Exec, not crashes.
func TestEmbeddingErrors(t *testing.T) {
	backend := goBackend(t)
	bad := DefaultEmbeddingConfig()
	bad.EmbedDim = 0
	for _, tc := range []struct {
		name string
		cfg  EmbeddingConfig
		dims []int
	}{
		{"invalid config", bad, []int{1, 48, 48, 4}},
		{"too small", DefaultEmbeddingConfig(), []int{1, 6, 6, 4}},
		{"rank 3", DefaultEmbeddingConfig(), []int{48, 48, 4}},
	} {
		x := tensors.FromShape(shapesOf(tc.dims))
		err := runWithin(t, graphTimeout, func() error {
			_, err := model.CallOnce(backend, newStore(ConvAuto), func(scope *model.Scope, x *graph.Node) *graph.Node {
				return Embedding(scope, tc.cfg, x)
			}, x)
			return err
		})
		if err == nil {
			t.Errorf("%s: no error", tc.name)
		} else {
			t.Logf("%s: %s", tc.name, firstLine(err.Error()))
		}
	}
}

// TestEmbeddingShapesAndFormulations: DefaultEmbeddingConfig maps
// [B, 48, 48, 4] to [B, 64], and the frame, im2col (both channel-major) and
// native formulations agree in float32 for the same variables, for it and
// for a network with a block at full resolution, a radius channel and a
// flattened readout.
func TestEmbeddingShapesAndFormulations(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	x := randTensor(r, false, 3, 48, 48, 4)
	full := DefaultEmbeddingConfig()
	full.Coords, full.Readout, full.StemPool, full.BlockPool = CoordsRadius, ReadoutFlatten, false, []bool{true, true, true}
	for _, c := range []EmbeddingConfig{full, DefaultEmbeddingConfig()} {
		store := newStore(ConvNative)
		b := embed(t, store, c, x)
		if d := b.Shape().Dimensions; len(d) != 2 || d[0] != 3 || d[1] != 64 {
			t.Fatalf("embedding shape %v, want [3 64]", d)
		}
		bv := flat64(b)
		for _, impl := range []string{ConvFrame, ConvIm2col} {
			store.RootScope().SetParam(ParamConvImpl, impl)
			if d := maxAbsDiff(t, flat64(embed(t, store, c, x)), bv); d > 1e-5*max(1, maxAbs(bv)) {
				t.Errorf("%s and native differ by %g (max |e| %g)", impl, d, maxAbs(bv))
			}
		}
	}
	cfg := DefaultEmbeddingConfig()
	av := flat64(embed(t, newStore(ConvIm2col), cfg, x))
	if maxAbs(av) < 1e-3 {
		t.Errorf("embedding suspiciously small: %g", maxAbs(av))
	}
	// Deterministic initialisation: a new store with the same seed gives the
	// same embedding; another seed does not.
	c := flat64(embed(t, newStore(ConvIm2col), cfg, x))
	if d := maxAbsDiff(t, av, c); d != 0 {
		t.Errorf("same seed, different embedding (max diff %g)", d)
	}
	other := newStore(ConvIm2col)
	other.RootScope().SetParam(ParamSeed, int64(8))
	if d := maxAbsDiff(t, av, flat64(embed(t, other, cfg, x))); d < 1e-3 {
		t.Errorf("another seed gives the same embedding (max diff %g)", d)
	}
}

// TestEmbeddingBatchIndependence: an image's embedding does not depend on
// the other images of its batch (no batch statistics, no axis mix-up in the
// channel-major layout, no leak between the frame layout's image slots).
func TestEmbeddingBatchIndependence(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	x := randTensor(r, false, 3, 24, 24, 4)
	xv := flat64(x)
	n := 24 * 24 * 4
	for _, tc := range []struct{ impl, norm string }{{ConvIm2col, NormLayer}, {ConvFrame, NormNone}} {
		cfg := DefaultEmbeddingConfig()
		cfg.Norm = tc.norm
		cfg.Readout = ReadoutFlatten
		store := newStore(tc.impl)
		all := flat64(embed(t, store, cfg, x))
		for i := range 3 {
			one := make([]float32, n)
			for j := range one {
				one[j] = float32(xv[i*n+j])
			}
			e := flat64(embed(t, store, cfg, tensors.FromFlatDataAndDimensions(one, 1, 24, 24, 4)))
			if d := maxAbsDiff(t, e, all[i*64:(i+1)*64]); d > 1e-5*max(1, maxAbs(e)) {
				t.Errorf("%s: image %d: embedding alone differs from in the batch by %g", tc.impl, i, d)
			}
		}
	}
}

// blob is a 48x48x4 circular Gaussian of width sigma (pixels) centred at
// (cx, cy), with per-band amplitudes.
func blob(cx, cy, sigma float64, amp [4]float64) []float32 {
	v := make([]float32, 48*48*4)
	for i := range 48 {
		for j := range 48 {
			dx, dy := float64(j)-cx, float64(i)-cy
			g := math.Exp(-(dx*dx + dy*dy) / (2 * sigma * sigma))
			for c := range 4 {
				v[(i*48+j)*4+c] = float32(amp[c] * g)
			}
		}
	}
	return v
}

// TestEmbeddingNearTranslationInvariance: with global average pooling,
// moving a centred blob by one pixel changes the embedding much less than
// changing the blob's width does.
func TestEmbeddingNearTranslationInvariance(t *testing.T) {
	amp := [4]float64{0.5, 1, 1.5, 1.2}
	imgs := append(append(blob(23.5, 23.5, 3, amp), blob(24.5, 23.5, 3, amp)...), blob(23.5, 23.5, 5, amp)...)
	x := tensors.FromFlatDataAndDimensions(imgs, 3, 48, 48, 4)
	e := flat64(embed(t, newStore(ConvIm2col), DefaultEmbeddingConfig(), x))
	dist := func(i, j int) float64 {
		s := 0.0
		for k := range 64 {
			d := e[i*64+k] - e[j*64+k]
			s += d * d
		}
		return math.Sqrt(s)
	}
	shift, width := dist(0, 1), dist(0, 2)
	t.Logf("embedding distance: one-pixel shift %.4g, width 3 -> 5 px %.4g", shift, width)
	if shift > 0.2*width {
		t.Errorf("one-pixel shift moves the embedding by %.3g, more than 0.2 x the width change (%.3g)", shift, width)
	}
}

// TestMeanPool3x3KeepsConstants: the border mean excludes padding, so a
// constant map stays constant; MeanPool2x2 of a constant is the constant and
// drops an odd last row and column.
func TestMeanPoolConstants(t *testing.T) {
	backend := goBackend(t)
	v := make([]float64, 2*5*7*3)
	for i := range v {
		v[i] = 2.5
	}
	x := tensors.FromFlatDataAndDimensions(v, 2, 5, 7, 3)
	outs := within(t, graphTimeout, func() ([]*tensors.Tensor, error) {
		return graph.ExecOnceN(backend, func(x *graph.Node) []*graph.Node {
			return []*graph.Node{MeanPool3x3(x), meanPool3x3(x, 1, false), MeanPool2x2(x)}
		}, x)
	})
	for i, o := range outs {
		for _, y := range flat64(o) {
			if math.Abs(y-2.5) > 1e-12 {
				t.Fatalf("output %d: %g, want 2.5", i, y)
			}
		}
	}
	if d := outs[2].Shape().Dimensions; d[1] != 2 || d[2] != 3 {
		t.Errorf("MeanPool2x2 of 5x7: %v, want 2x3", d)
	}
}

// TestCoordsRadius: the radius channel holds each pixel's distance from the
// centre over half the smaller side, after the untouched bands, and a
// network with it sees where a feature lies: the same blob at the centre and
// off-centre embeds differently, at the same distance on either side alike.
func TestCoordsRadius(t *testing.T) {
	backend := goBackend(t)
	const h, w = 5, 7
	x := make([]float32, 2*h*w*3)
	for i := range x {
		x[i] = float32(i%11) - 5
	}
	in := tensors.FromFlatDataAndDimensions(x, 2, h, w, 3)
	out := within(t, graphTimeout, func() (*tensors.Tensor, error) {
		return model.CallOnce(backend, model.NewStore(), func(_ *model.Scope, img *graph.Node) *graph.Node {
			return withRadius(img)
		}, in)
	})
	if d := out.Shape().Dimensions; len(d) != 4 || d[0] != 2 || d[1] != h || d[2] != w || d[3] != 4 {
		t.Fatalf("shape %v, want [2 %d %d 4]", d, h, w)
	}
	got := flat64(out)
	for b := range 2 {
		for y := range h {
			for xx := range w {
				p := ((b*h+y)*w + xx) * 4
				for c := range 3 {
					if want := float64(x[((b*h+y)*w+xx)*3+c]); got[p+c] != want {
						t.Fatalf("band %d at (%d,%d,%d) changed: %g, want %g", c, b, y, xx, got[p+c], want)
					}
				}
				want := math.Hypot(float64(y-2), float64(xx-3)) / 2.5
				if math.Abs(got[p+3]-want) > 1e-6 {
					t.Errorf("radius at (%d,%d) = %g, want %g", y, xx, got[p+3], want)
				}
			}
		}
	}

	// A point source at the centre, at 8 px to the right and at 8 px to the
	// left of it, on an otherwise empty 24x24 cutout.
	cfg := DefaultEmbeddingConfig()
	cfg.Coords = CoordsRadius
	img := make([]float32, 3*24*24*4)
	for k, dx := range []int{0, 8, -8} {
		for c := range 4 {
			img[((k*24+12)*24+12+dx)*4+c] = 5
		}
	}
	e := flat64(embed(t, newStore(ConvIm2col), cfg, tensors.FromFlatDataAndDimensions(img, 3, 24, 24, 4)))
	n := len(e) / 3
	centre, right, left := e[:n], e[n:2*n], e[2*n:]
	if d := maxAbsDiff(t, centre, right); d < 1e-3 {
		t.Errorf("centre and off-centre blobs embed alike (max diff %g)", d)
	}
	// Not exactly equal: the pixel grid is not symmetric about 12 on a side
	// of 24, and the stem's kernels are not mirror symmetric.
	if dc, dl := maxAbsDiff(t, centre, right), maxAbsDiff(t, right, left); dl > dc {
		t.Errorf("blobs at the same distance differ more (%g) than blobs at different distances (%g)", dl, dc)
	}
}
