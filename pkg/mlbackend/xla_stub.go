//go:build !(((linux && (amd64 || arm64)) || (darwin && arm64) || (windows && amd64)) && !noxla)

package mlbackend

import (
	"fmt"

	"github.com/gomlx/compute"
)

// newXLADevices reports that this build has no XLA backend.
func newXLADevices(cfg string, n int) (compute.Backend, error) {
	return nil, fmt.Errorf("backend %q: this build has no XLA backend", cfg)
}
