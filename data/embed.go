// Package data embeds the project's derived tables and survey presets so that
// every binary and notebook carries them. The files themselves live beside this
// one, where users can read and extend them; Go's embed directive cannot reach
// outside its own directory, which is why this one small file sits in data/.
package data

import "embed"

// FS holds data/presets/*.json (survey presets) and data/tables/*.csv (tables
// generated from ../shared/data by pkg/cmd/gentables).
//
//go:embed presets tables
var FS embed.FS
