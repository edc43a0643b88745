// Package atomicfile writes files so that a reader, or a later run after a
// crash, finds either the previous content or the complete new content of a
// path, never a partial file: the data go to a temporary file beside the
// path, are synced, and the file is renamed over the path.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Mode is the permission of committed files (before the umask's effect on
// later copies; committed files get exactly this mode).
const Mode = 0o644

// File is a file being written under a temporary name beside its final
// path. Write to it like an *os.File, then Commit, or Abort to drop it.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts writing path. The directory must exist.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return &File{File: f, path: path}, nil
}

// Path returns the final path.
func (f *File) Path() string { return f.path }

// Commit syncs and closes the temporary file and renames it over the final
// path. On failure the temporary file is removed and the path is untouched.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("writing %s: already committed or aborted", f.path)
	}
	f.done = true
	tmp := f.Name()
	err := f.Chmod(Mode)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file, leaving the final path as it
// was. It does nothing after Commit, so `defer f.Abort()` is safe.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}
