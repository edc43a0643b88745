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
	"path/filepath"
	"strconv"
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
//
// An XLA spec may end in ",devices=N" to ask the CPU plugin for N host
// devices (each a share of the cores), e.g. "xla:cpu,devices=2": the way to
// run and test multi-device data-parallel training without several
// accelerators. Other options after a comma go to go-xla unchanged.
func New(spec string) (b compute.Backend, err error) {
	cfg := Spec(spec)
	cfg, devices, err := cutDevices(cfg)
	if err != nil {
		return nil, err
	}
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
	if name != "go" {
		cfg = resolvePlugin(cfg)
	} else if devices > 0 {
		return nil, fmt.Errorf("backend %q: devices=%d needs an XLA backend (the Go backend has one device)", spec, devices)
	}
	if devices > 0 {
		b, err = newXLADevices(cfg, devices)
	} else {
		b, err = compute.NewWithConfig(cfg)
	}
	if err != nil {
		if name != "go" {
			return nil, fmt.Errorf("backend %q: %w (XLA needs a PJRT plugin: run `make xla` for the CPU one, or set PJRT_PLUGIN_LIBRARY_PATH to the directory holding one)", cfg, err)
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

// pluginFiles maps XLA platforms to the PJRT plugin file names of the wheels
// lenssbi knows: lammps-jax-pjrt-cpu (installed by `make xla`) and JAX's
// jax-cuda12/13-pjrt.
var pluginFiles = map[string][]string{
	"cpu":  {"lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so", "xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so"},
	"cuda": {"jax_plugins/xla_cuda13/xla_cuda_plugin.so", "jax_plugins/xla_cuda12/xla_cuda_plugin.so"},
}

// PluginSearchDirs are the site-packages directories searched for PJRT
// plugins when PJRT_PLUGIN_LIBRARY_PATH is not set: $LENSSBI_PJRT_SITE, the
// .venv beside the running program's directory (bin/lenssbi in a checkout),
// then a project-local .venv from the working directory up to the
// repository root.
func PluginSearchDirs() []string {
	var dirs []string
	if d := os.Getenv("LENSSBI_PJRT_SITE"); d != "" {
		dirs = append(dirs, d)
	}
	if exe, err := os.Executable(); err == nil {
		root := filepath.Dir(filepath.Dir(exe))
		m, _ := filepath.Glob(filepath.Join(root, ".venv", "lib", "python3*", "site-packages"))
		dirs = append(dirs, m...)
	}
	wd, err := os.Getwd()
	for err == nil {
		m, _ := filepath.Glob(filepath.Join(wd, ".venv", "lib", "python3*", "site-packages"))
		dirs = append(dirs, m...)
		if _, e := os.Stat(filepath.Join(wd, "go.mod")); e == nil {
			break
		}
		parent := filepath.Dir(wd)
		if parent == wd {
			break
		}
		wd = parent
	}
	return dirs
}

// FindPlugin returns the path of a known PJRT plugin for platform ("cpu" or
// "cuda") in PluginSearchDirs, or "".
func FindPlugin(platform string) string {
	for _, d := range PluginSearchDirs() {
		for _, f := range pluginFiles[platform] {
			p := filepath.Join(d, f)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	return ""
}

// cutDevices removes a ",devices=N" option from cfg and returns N (0 when
// absent).
func cutDevices(cfg string) (string, int, error) {
	parts := strings.Split(cfg, ",")
	kept := parts[:1]
	devices := 0
	for _, p := range parts[1:] {
		v, ok := strings.CutPrefix(p, "devices=")
		if !ok {
			kept = append(kept, p)
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", 0, fmt.Errorf("backend %q: devices=%s is not a positive number", cfg, v)
		}
		devices = n
	}
	return strings.Join(kept, ","), devices, nil
}

// resolvePlugin turns "xla:cpu" or "xla:cuda" into "xla:/abs/plugin.so" when
// PJRT_PLUGIN_LIBRARY_PATH is unset and a known plugin is installed. Options
// after a comma are kept.
func resolvePlugin(cfg string) string {
	cfg, opts, _ := strings.Cut(cfg, ",")
	if opts != "" {
		opts = "," + opts
	}
	name, platform, _ := strings.Cut(cfg, ":")
	if os.Getenv("PJRT_PLUGIN_LIBRARY_PATH") != "" || strings.Contains(platform, "/") {
		return cfg + opts
	}
	if platform == "" {
		platform = "cpu"
		if FindPlugin("cuda") != "" {
			platform = "cuda"
		}
	}
	if p := FindPlugin(platform); p != "" {
		return name + ":" + p + opts
	}
	return cfg + opts
}

// Label names a backend for model cards and tables: "go" for the pure-Go
// backend, "xla:cuda" or "xla:cpu" for XLA with a GPU or CPU plugin (read
// off the plugin's description), otherwise the backend's own name.
func Label(b compute.Backend) string {
	name := b.String()
	if name != "xla" {
		return name
	}
	d := strings.ToLower(b.Description())
	switch {
	case strings.Contains(d, "cuda"):
		return "xla:cuda"
	case strings.Contains(d, "cpu"):
		return "xla:cpu"
	}
	return name
}
