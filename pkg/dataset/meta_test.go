package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// simverCard finds the SIMVER card of a file's primary header: its offset in
// data, or -1.
func simverCard(t *testing.T, data []byte) int {
	t.Helper()
	u := fileHDUs(t, data)[0]
	for off := u.headerOff; off < u.dataOff; off += cardLen {
		if string(data[off:off+8]) == "SIMVER  " {
			return int(off)
		}
	}
	return -1
}

// TestMetaSimVersion: SIMVER is written to the primary header of every file
// of a sharded dataset and read back; a dataset without it (SimVersion 0, as
// every file written before the keyword existed) has no such card and reads
// back as 0 without error; shards of different simulator versions do not
// open as one dataset; bad values are errors naming the keyword.
func TestMetaSimVersion(t *testing.T) {
	dir := t.TempDir()
	m, cols := testMeta(), testColumns()
	m.SimVersion = 3
	paths := writeTestDataset(t, filepath.Join(dir, "v.fits"), m, cols, 7, WriterOptions{ShardSize: 3})
	if len(paths) != 3 {
		t.Fatalf("wrote %v, want 3 shards", paths)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		off := simverCard(t, data)
		if off < 0 {
			t.Fatalf("%s: no SIMVER card", p)
		}
		if line := string(data[off : off+cardLen]); !bytes.Contains([]byte(line), []byte("=                    3 / lenssbi simulator output version")) {
			t.Errorf("%s: SIMVER card %q", p, line)
		}
		d, err := Open(p) // each shard alone
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Meta(); got.SimVersion != 3 || len(got.Extra) != len(m.Extra) {
			t.Errorf("%s: SimVersion %d, %d extra cards (want 3, %d)", p, got.SimVersion, len(got.Extra), len(m.Extra))
		}
		d.Close()
	}
	d, err := Open(filepath.Join(dir, "v.fits"))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Meta().SimVersion; got != 3 {
		t.Errorf("dataset SimVersion %d, want 3", got)
	}
	checkContents(t, d, m, cols, 0, 7)
	d.Close()

	// Not recorded: no card, read back as 0.
	old := filepath.Join(dir, "old.fits")
	writeTestDataset(t, old, testMeta(), cols, 2, WriterOptions{})
	data, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	if simverCard(t, data) >= 0 {
		t.Error("SimVersion 0 wrote a SIMVER card")
	}
	d, err = Open(old)
	if err != nil {
		t.Fatalf("file without SIMVER: %v", err)
	}
	if got := d.Meta().SimVersion; got != 0 {
		t.Errorf("file without SIMVER: SimVersion %d, want 0", got)
	}
	d.Close()

	// A shard whose SIMVER card is blanked (as written before the keyword
	// existed) does not join shards that record a version.
	data, err = os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	off := simverCard(t, data)
	copy(data[off:off+cardLen], bytes.Repeat([]byte(" "), cardLen))
	if err := os.WriteFile(paths[1], data, 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := Open(paths[1]); err != nil || d.Meta().SimVersion != 0 {
		t.Fatalf("shard with a blank SIMVER card: %v", err)
	} else {
		d.Close()
	}
	_, err = Open(filepath.Join(dir, "v.fits"))
	wantErr(t, err, "v-001.fits does not match", "SIMVER 0 vs 3")

	// Bad values.
	for _, v := range []any{-1, "one", 1.5} {
		data, _ := os.ReadFile(paths[0])
		patchCard(t, data, fileHDUs(t, data)[0], "SIMVER", v)
		p := writeFile(t, dir, "bad.fits", data)
		_, err := Open(p)
		wantErr(t, err, "bad.fits", "SIMVER")
	}
	m.SimVersion = -2
	_, err = Create(filepath.Join(dir, "neg.fits"), m, cols, 1, WriterOptions{})
	wantErr(t, err, "simulator output version -2 is negative")
	m.SimVersion = 1
	m.Extra = append(m.Extra, Card{Key: "SIMVER", Value: 2})
	_, err = Create(filepath.Join(dir, "extra.fits"), m, cols, 1, WriterOptions{})
	wantErr(t, err, "extra keyword SIMVER is reserved")
}
