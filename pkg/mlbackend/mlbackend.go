// Package mlbackend chooses the GoMLX compute backend for lenssbi.
//
// The pure-Go backend ("go") is the default and always works. XLA ("xla",
// "xla:cpu", "xla:cuda") is the fast path when a PJRT plugin is installed
// (see `make xla`, issue 6). GoMLX's own GOMLX_BACKEND variable is honoured
// when no backend is named explicitly.
package mlbackend

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/gomlx/backends/default" // registers "go" and "xla"
)

// GoConfig is the configuration used for the pure-Go backend. Operations run
// one after another, each using all cores internally: with the default
// (parallel operations) configuration a CNN training step was measured to
// deadlock from its second step on 2-core machines (ARCHITECTURE.md), and
// sequential operations are as fast for the small graphs used here.
const GoConfig = "go:ops_sequential"

// Spec returns the backend configuration New would use for spec: spec
// itself, else $GOMLX_BACKEND, else GoConfig; a bare "go" gets GoConfig's
// options.
func Spec(spec string) string {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		spec = strings.TrimSpace(os.Getenv(compute.ConfigEnvVar))
	}
	if spec == "" || spec == "go" {
		return GoConfig
	}
	return spec
}

// New returns a backend for spec ("" for the default; see Spec). It never
// downloads anything (go-xla's auto-installer is switched off): a missing
// PJRT plugin is an error saying what to install.
func New(spec string) (b compute.Backend, err error) {
	cfg := Spec(spec)
	name, _, _ := strings.Cut(cfg, ":")
	switch name {
	case "go":
	case "xla", "stablehlo":
	default:
		return nil, fmt.Errorf("unknown backend %q: use go, xla, xla:cpu or xla:cuda", cfg)
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("backend %q: %v", cfg, r)
		}
	}()
	b, err = compute.NewWithConfig(cfg)
	if err != nil {
		if name != "go" {
			return nil, fmt.Errorf("backend %q: %w (XLA needs a PJRT CPU or CUDA plugin: set PJRT_PLUGIN_LIBRARY_PATH to the directory holding it)", cfg, err)
		}
		return nil, fmt.Errorf("backend %q: %w", cfg, err)
	}
	if b == nil {
		return nil, errors.New("backend " + cfg + ": no backend returned")
	}
	return b, nil
}

var (
	defaultOnce sync.Once
	defaultB    compute.Backend
	defaultErr  error
)

// Default returns the process-wide default backend (New("")), created once.
func Default() (compute.Backend, error) {
	defaultOnce.Do(func() { defaultB, defaultErr = New("") })
	return defaultB, defaultErr
}
