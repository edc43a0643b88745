package flows

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/gomlx/compute"

	"github.com/lenssbi/lenssbi/pkg/mlbackend"
)

// graphTimeout bounds every graph-running test: the Go backend has been seen
// to deadlock in some configurations (ARCHITECTURE.md), and a hung test must
// fail rather than stall CI.
const graphTimeout = 60 * time.Second

// withTimeout runs fn and fails the test if it does not finish within d.
// fn must report failures with t.Error (not t.Fatal, which only works on the
// test goroutine); a panic in fn is reported as a failure.
func withTimeout(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		fn()
	}()
	select {
	case r := <-done:
		if r != nil {
			t.Fatalf("panic: %v", r)
		}
	case <-time.After(d):
		t.Fatalf("timed out after %v (a graph execution hung?)", d)
	}
}

var (
	backendOnce sync.Once
	testBackend compute.Backend
	backendErr  error
)

// backend returns the pure Go backend in the project's configuration.
func backend(t testing.TB) compute.Backend {
	t.Helper()
	backendOnce.Do(func() { testBackend, backendErr = mlbackend.New("go") })
	if backendErr != nil {
		t.Fatalf("backend: %v", backendErr)
	}
	return testBackend
}

// normals returns n standard normal draws.
func normals(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return out
}

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

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}
