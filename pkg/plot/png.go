package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"

	"github.com/lenssbi/lenssbi/pkg/internal/atomicfile"
)

// SavePNG writes img to path as a PNG. It writes a temporary file in the
// same directory and renames it over path, so a reader never sees a partial
// file; an existing file at path is replaced (deciding whether to overwrite
// is the caller's business). The file is created with mode 0644.
func SavePNG(path string, img image.Image) error {
	if img == nil {
		return fmt.Errorf("writing %s: nil image", path)
	}
	b, err := PNGBytes(img)
	if err != nil {
		return fmt.Errorf("writing %s: encoding PNG: %w", path, err)
	}
	return atomicfile.WriteFile(path, b)
}

// PNGBytes encodes img as a PNG in memory, e.g. for a notebook display.
func PNGBytes(img image.Image) ([]byte, error) {
	if img == nil {
		return nil, errors.New("encoding PNG: nil image")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}
