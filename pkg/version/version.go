// Package version holds the lenssbi release string written into every file the
// project produces.
package version

// Version is the lenssbi version recorded in FITS provenance headers and model cards.
const Version = "0.1.0-dev"
