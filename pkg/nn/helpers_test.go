package nn

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/lenssbi/lenssbi/pkg/mlbackend"
)

// graphTimeout bounds every test section that runs a graph: the Go backend
// was seen to deadlock in some configurations (ARCHITECTURE.md), and a test
// must then fail, not hang.
const graphTimeout = 60 * time.Second

// within runs fn in its own goroutine and fails the test if it does not
// return within d or returns an error. A panic inside fn is an error.
func within[T any](t testing.TB, d time.Duration, fn func() (T, error)) T {
	t.Helper()
	var v T
	if err := runWithin(t, d, func() (err error) { v, err = fn(); return err }); err != nil {
		t.Fatal(err)
	}
	return v
}

// runWithin runs fn in its own goroutine and returns its error; it fails
// the test if fn does not return within d.
func runWithin(t testing.TB, d time.Duration, fn func() error) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
			ch <- err
		}()
		err = fn()
	}()
	select {
	case err := <-ch:
		return err
	case <-time.After(d):
		t.Fatalf("graph execution did not finish within %v (backend deadlock?)", d)
		return nil
	}
}

// testBackend is the one pure-Go backend of the test binary (tensors cannot
// cross backend instances).
var testBackend = sync.OnceValues(func() (compute.Backend, error) { return mlbackend.New("go") })

// goBackend returns the pure-Go backend in the project's configuration.
func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := testBackend()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newStore returns a store with the given formulation and a fixed seed.
func newStore(impl string) *model.Store {
	s := model.NewStore()
	s.RootScope().SetParam(ParamConvImpl, impl)
	s.RootScope().SetParam(ParamSeed, int64(7))
	return s
}

// randTensor returns a tensor of standard normal values (float64 or float32).
func randTensor(r *rand.Rand, f64 bool, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	if f64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

// flat64 returns the values of a float64 or float32 tensor as float64.
func flat64(t *tensors.Tensor) []float64 {
	switch v := t.Value().(type) {
	case []float64:
		return v
	case float64:
		return []float64{v}
	case float32:
		return []float64{float64(v)}
	}
	var out []float64
	_ = t.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float64:
			out = append(out, f...)
		case []float32:
			for _, x := range f {
				out = append(out, float64(x))
			}
		}
	})
	return out
}

// maxAbsDiff is the largest |a[i]-b[i]|; it fails on a length mismatch.
func maxAbsDiff(t testing.TB, a, b []float64) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("length %d vs %d", len(a), len(b))
	}
	m := 0.0
	for i := range a {
		d := a[i] - b[i]
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

// maxAbs is the largest |a[i]|.
func maxAbs(a []float64) float64 {
	m := 0.0
	for _, x := range a {
		m = max(m, max(x, -x))
	}
	return m
}

// shapesOf is a float32 shape with the given dimensions.
func shapesOf(dims []int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }
