package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
)

// SavePNG writes img to path as a PNG. It writes a temporary file in the
// same directory and renames it over path, so a reader never sees a partial
// file; an existing file at path is replaced (deciding whether to overwrite
// is the caller's business). The file is created with mode 0644.
func SavePNG(path string, img image.Image) (err error) {
	if img == nil {
		return fmt.Errorf("writing %s: nil image", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = png.Encode(f, img); err != nil {
		return fmt.Errorf("writing %s: encoding PNG: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
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
