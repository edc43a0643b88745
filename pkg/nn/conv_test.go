package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// naiveConv is the textbook "same" convolution with bias, NHWC, in plain Go.
func naiveConv(x []float64, b, h, w, cin int, kernel, bias []float64, k, cout int) []float64 {
	p := k / 2
	y := make([]float64, b*h*w*cout)
	for n := range b {
		for i := range h {
			for j := range w {
				for co := range cout {
					s := bias[co]
					for dy := range k {
						for dx := range k {
							ii, jj := i+dy-p, j+dx-p
							if ii < 0 || ii >= h || jj < 0 || jj >= w {
								continue
							}
							for ci := range cin {
								s += x[((n*h+ii)*w+jj)*cin+ci] * kernel[((dy*k+dx)*cin+ci)*cout+co]
							}
						}
					}
					y[((n*h+i)*w+j)*cout+co] = s
				}
			}
		}
	}
	return y
}

// runConv evaluates Conv2D on x with the store's formulation.
func runConv(t *testing.T, store *model.Store, x *tensors.Tensor, cout, k int) []float64 {
	t.Helper()
	backend := goBackend(t)
	out := within(t, graphTimeout, func() (*tensors.Tensor, error) {
		e, err := model.NewExec(backend, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
			return Conv2D(scope.In("conv"), x, cout, k)
		})
		if err != nil {
			return nil, err
		}
		return e.Call1(x)
	})
	return flat64(out)
}

// TestConv2DFormulationsAgree: the im2col convolution (channel-major, hand
// gradients), the backend's native convolution and a naive Go loop give the
// same output for the same variables, for k = 1, 3, 5, odd and even sizes.
func TestConv2DFormulationsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ b, h, w, cin, cout, k int }{
		{2, 7, 6, 3, 5, 3},
		{3, 5, 5, 4, 2, 1},
		{1, 9, 8, 2, 3, 5},
		{2, 3, 4, 6, 4, 3},
	} {
		x := randTensor(r, true, tc.b, tc.h, tc.w, tc.cin)
		store := newStore(ConvIm2col)
		// Non-zero biases so that the bias path is checked too.
		store.RootScope().In("conv").VariableWithValue("biases",
			tensors.FromFlatDataAndDimensions(flat64(randTensor(r, true, tc.cout)), tc.cout))
		im2col := runConv(t, store, x, tc.cout, tc.k)
		store.RootScope().SetParam(ParamConvImpl, ConvNative)
		native := runConv(t, store, x, tc.cout, tc.k)
		kernel := flat64(store.GetVariable("/conv/weights").MustValue())
		bias := flat64(store.GetVariable("/conv/biases").MustValue())
		ref := naiveConv(flat64(x), tc.b, tc.h, tc.w, tc.cin, kernel, bias, tc.k, tc.cout)
		if d := maxAbsDiff(t, im2col, ref); d > 1e-12*max(1, maxAbs(ref)) {
			t.Errorf("%+v: im2col differs from the naive loop by %g", tc, d)
		}
		if d := maxAbsDiff(t, native, ref); d > 1e-12*max(1, maxAbs(ref)) {
			t.Errorf("%+v: native convolution differs from the naive loop by %g", tc, d)
		}
		t.Logf("%+v: im2col %.2g, native %.2g off the naive loop (max |y| %.3g)",
			tc, maxAbsDiff(t, im2col, ref), maxAbsDiff(t, native, ref), maxAbs(ref))
		if maxAbs(ref) < 0.1 {
			t.Errorf("%+v: reference output suspiciously small (%g)", tc, maxAbs(ref))
		}
	}
}

// TestConv2DTranslationEquivariance: moving an image that is zero near the
// border by one pixel moves the convolution's output by one pixel.
func TestConv2DTranslationEquivariance(t *testing.T) {
	const h, w, c = 12, 12, 2
	r := rand.New(rand.NewPCG(3, 4))
	a := make([]float64, h*w*c)
	bb := make([]float64, h*w*c)
	for i := 3; i < 8; i++ {
		for j := 3; j < 8; j++ {
			for ch := range c {
				v := r.NormFloat64()
				a[(i*w+j)*c+ch] = v
				bb[((i+1)*w+j+1)*c+ch] = v // shifted by (+1, +1)
			}
		}
	}
	x := tensors.FromFlatDataAndDimensions(append(a, bb...), 2, h, w, c)
	store := newStore(ConvIm2col)
	store.RootScope().In("conv").VariableWithValue("biases", tensors.FromFlatDataAndDimensions([]float64{0.3, -0.2, 0.1}, 3))
	y := runConv(t, store, x, 3, 3)
	const cout = 3
	worst := 0.0
	for i := range h - 1 {
		for j := range w - 1 {
			for co := range cout {
				ya := y[((0*h+i)*w+j)*cout+co]
				yb := y[((1*h+i+1)*w+j+1)*cout+co]
				worst = max(worst, max(ya-yb, yb-ya))
			}
		}
	}
	if worst > 1e-12 {
		t.Errorf("shifted input: output not shifted, max difference %g", worst)
	}
}

// TestConv2DBadInput: a wrong rank or an even kernel is an error from Exec,
// not a crash.
func TestConv2DBadInput(t *testing.T) {
	backend := goBackend(t)
	for _, tc := range []struct {
		name string
		x    *tensors.Tensor
		k    int
	}{
		{"rank 3", tensors.FromFlatDataAndDimensions(make([]float32, 8), 2, 2, 2), 3},
		{"even kernel", tensors.FromFlatDataAndDimensions(make([]float32, 16), 1, 4, 4, 1), 2},
	} {
		err := runWithin(t, graphTimeout, func() error {
			_, err := model.CallOnce(backend, newStore(ConvAuto), func(scope *model.Scope, x *graph.Node) *graph.Node {
				return Conv2D(scope.In("conv"), x, 2, tc.k)
			}, tc.x)
			return err
		})
		if err == nil {
			t.Errorf("%s: no error", tc.name)
		} else {
			t.Logf("%s: %v", tc.name, firstLine(err.Error()))
		}
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

// TestFormulationChoice: "auto" picks the frame layout (channel-major, and
// im2col outside Embedding) on the pure-Go backend; the scope parameter
// overrides it; an unknown value is an error.
func TestFormulationChoice(t *testing.T) {
	backend := goBackend(t)
	for _, tc := range []struct {
		impl            string
		cm, frame, auto bool
		wantErr         bool
	}{{ConvAuto, true, true, true, false}, {"", true, true, true, false}, {ConvFrame, true, true, false, false},
		{ConvIm2col, true, false, false, false}, {ConvNative, false, false, false, false}, {"winograd", false, false, false, true}} {
		var got net
		err := runWithin(t, graphTimeout, func() error {
			_, err := model.CallOnce(backend, newStore(tc.impl), func(scope *model.Scope, x *graph.Node) *graph.Node {
				got = newNet(scope, x.Graph())
				return x
			}, []float32{1})
			return err
		})
		if (err != nil) != tc.wantErr || (err == nil && (got.cm != tc.cm || got.frame != tc.frame || got.auto != tc.auto)) {
			t.Errorf("%q: %+v, error %v; want cm %v frame %v auto %v, error %v", tc.impl, got, err, tc.cm, tc.frame, tc.auto, tc.wantErr)
		}
	}
}
