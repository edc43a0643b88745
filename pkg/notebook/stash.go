package notebook

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lenssbi/lenssbi/pkg/internal/atomicfile"
)

// Save writes v to path with encoding/gob, creating the directory if
// needed; the file is written under a temporary name and renamed, so a
// reader never sees half of it.
//
// Each GoNB cell runs as a new program: declarations carry over to later
// cells, computed values do not. Save and Load hand a result (a posterior,
// a table) from the cell that computed it to the cells that show it. v must
// be gob-encodable: exported fields, no functions or channels.
func Save(path string, v any) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("notebook: encoding %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("notebook: saving %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("notebook: saving %s: %w", path, err)
	}
	return nil
}

// Load reads into v (a pointer) what Save wrote to path.
func Load(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("notebook: loading %s: %w (run the cell that saves it first)", path, err)
	}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		return fmt.Errorf("notebook: decoding %s: %w", path, err)
	}
	return nil
}
