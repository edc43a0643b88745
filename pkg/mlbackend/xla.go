//go:build ((linux && (amd64 || arm64)) || (darwin && arm64) || (windows && amd64)) && !noxla

package mlbackend

import "github.com/gomlx/go-xla/compute/xla"

// go-xla reads GOMLX_NO_AUTO_INSTALL once, at its own initialisation; turn
// its downloader off explicitly so that asking for XLA without a plugin is a
// clear error and never a network call.
func init() { xla.EnableAutoInstall(false) }
