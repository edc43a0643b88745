package mlbackend

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
)

func TestSpec(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "")
	if got := Spec(""); got != GoConfig {
		t.Errorf("default spec %q, want %q", got, GoConfig)
	}
	t.Setenv("GOMLX_BACKEND", "xla:cpu")
	if got := Spec(""); got != "xla:cpu" {
		t.Errorf("GOMLX_BACKEND not honoured: %q", got)
	}
	if got := Spec("go"); got != GoConfig {
		t.Errorf("explicit go: %q", got)
	}
}

// TestGoBackendComputes runs a graph on the default backend: x^2 + 1.
func TestGoBackendComputes(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "")
	checkComputes(t, "")
}

// checkComputes runs x^2 + 1 on the backend for spec.
func checkComputes(t *testing.T, spec string) {
	t.Helper()
	b, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	e, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return graph.AddScalar(graph.Mul(x, x), 1) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Exec([]float32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	got := out[0].Value().([]float32)
	for i, want := range []float32{2, 5, 10} {
		if got[i] != want {
			t.Fatalf("%s: got %v", spec, got)
		}
	}
}

func TestUnknownBackend(t *testing.T) {
	if _, err := New("tpu"); err == nil {
		t.Error("unknown backend accepted")
	}
}

// TestMissingXLAPlugin: asking for XLA without a plugin is an error, never a
// hang or a download.
func TestMissingXLAPlugin(t *testing.T) {
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	if _, err := New("xla:cpu"); err == nil {
		t.Skip("an XLA CPU plugin is installed here")
	} else {
		t.Logf("error as expected: %v", err)
	}
}

// TestXLACPUPlugin: with `make xla` done, "xla:cpu" resolves to the
// installed plugin and computes.
func TestXLACPUPlugin(t *testing.T) {
	if FindPlugin("cpu") == "" {
		t.Skip("no XLA CPU plugin installed (make xla)")
	}
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", "")
	checkComputes(t, "xla:cpu")
	b, err := New("xla:cpu")
	if err != nil {
		t.Fatal(err)
	}
	if got := Label(b); got != "xla:cpu" {
		t.Errorf("Label of the CPU plugin's backend: %q, want xla:cpu", got)
	}
}

// TestLabelGo: the pure-Go backend is labelled "go" on model cards.
func TestLabelGo(t *testing.T) {
	b, err := New("go")
	if err != nil {
		t.Fatal(err)
	}
	if got := Label(b); got != "go" {
		t.Errorf("Label: %q, want go", got)
	}
}

// TestDevicesOption: ",devices=N" gives the CPU plugin N host devices, and
// is refused where it cannot apply.
func TestDevicesOption(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"go,devices=2", "needs an XLA backend"},
		{"xla:cpu,devices=0", "not a positive number"},
		{"xla:cpu,devices=two", "not a positive number"},
	} {
		if _, err := New(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q): error %v, want one containing %q", c.spec, err, c.want)
		}
	}
	if FindPlugin("cpu") == "" {
		t.Skip("no XLA CPU plugin installed (make xla)")
	}
	b, err := New("xla:cpu,devices=3")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if n := b.NumDevices(); n != 3 {
		t.Errorf("xla:cpu,devices=3 has %d devices", n)
	}
}
