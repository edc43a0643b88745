//go:build ((linux && (amd64 || arm64)) || (darwin && arm64) || (windows && amd64)) && !noxla

package mlbackend

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"
)

// go-xla reads GOMLX_NO_AUTO_INSTALL once, at its own initialisation; turn
// its downloader off explicitly so that asking for XLA without a plugin is a
// clear error and never a network call.
func init() { xla.EnableAutoInstall(false) }

// newXLADevices creates an XLA backend (cfg is "xla:PLUGIN[,options]") whose
// CPU plugin exposes n host devices (PJRT's cpu_device_count option).
func newXLADevices(cfg string, n int) (compute.Backend, error) {
	_, plugin, _ := strings.Cut(cfg, ":")
	name, _, _ := strings.Cut(plugin, ",")
	if pjrt.IsCUDAName(name) {
		return nil, fmt.Errorf("devices=%d applies to the CPU plugin; a GPU plugin shows every visible GPU", n)
	}
	return xla.NewWithOptions(plugin, pjrt.NamedValuesMap{"cpu_device_count": int64(n)})
}
