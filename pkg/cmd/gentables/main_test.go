package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shared is the reference directory relative to this package (module root/../shared).
const shared = "../../../../shared"

func needShared(t *testing.T) {
	t.Helper()
	if _, err := dataDir(shared); err != nil {
		t.Skipf("shared reference data not available: %v", err)
	}
}

func TestReadLSST(t *testing.T) {
	in := `#ra, dec, redshift, g_ab, r_ab, i_ab, z_ab, absmag_r_total, gal_type
10.0, 0.0, 0.2202, 22.6244, 21.7185, 21.3102, 21.0889, -19.5010, nan
10.1, 0.0, 0.5, nan, 21.7, 21.3, 21.0, -19.5, 1
10.2, 0.0, 0.0, 22, 21.7, 21.3, 21.0, -19.5, 1
10.3, 0.0, 1.5, 25, 24.5, 24, 23.5, -20, 1
`
	cat, total, err := readLSST(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// A NaN in an unused column is kept; a NaN magnitude and z = 0 are dropped.
	if total != 4 || cat.Len() != 2 || cat.Z[1] != 1.5 || cat.G[0] != 22.6244 || cat.AbsMagR[1] != -20 || cat.AreaDeg2 != 1 {
		t.Errorf("total %d, catalogue %+v", total, cat)
	}
	for _, bad := range []string{
		"",
		"1, 2, 3\n",
		"#ra, dec, redshift, g_ab\n1, 2, 3, 4\n",
		"#redshift, g_ab, r_ab, i_ab, z_ab, absmag_r_total\n1, 2, 3, 4, 5\n",
		"#redshift, g_ab, r_ab, i_ab, z_ab, absmag_r_total\n1, 2, 3, 4, 5, x\n",
	} {
		if _, _, err := readLSST(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestDiffSummary(t *testing.T) {
	if d := diffSummary([]byte("a\nb\n"), []byte("a\nb\n")); d != "" {
		t.Errorf("equal inputs: %q", d)
	}
	d := diffSummary([]byte("a\nb\nc\n"), []byte("a\nB\nc\nd\n"))
	for _, want := range []string{"2 of 4 lines differ", "first at line 2", `"b"`, `"B"`} {
		if !strings.Contains(d, want) {
			t.Errorf("summary %q lacks %q", d, want)
		}
	}
}

func TestRunBadArgs(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"-nonsense"}, &out, &errb); rc != 2 {
		t.Errorf("bad flag: rc %d", rc)
	}
	if rc := run([]string{"-shared", t.TempDir()}, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "shared data not found") {
		t.Errorf("missing shared data: rc %d, stderr %q", rc, errb.String())
	}
}

// The committed tables are what the generator makes from ../shared.
func TestCommittedTablesUpToDate(t *testing.T) {
	needShared(t)
	var out, errb bytes.Buffer
	if rc := run([]string{"-shared", shared, "-out", "../../../data/tables", "-check"}, &out, &errb); rc != 0 {
		t.Fatalf("check failed (rc %d):\n%s", rc, errb.String())
	}
}

// Writing then checking agrees; a changed or missing file is reported.
func TestWriteThenCheck(t *testing.T) {
	needShared(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if rc := run([]string{"-shared", shared, "-out", dir}, &out, &errb); rc != 0 {
		t.Fatalf("write failed (rc %d): %s", rc, errb.String())
	}
	first, err := os.ReadFile(filepath.Join(dir, "deflector_colours.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// Byte-reproducible: a second generation is identical.
	files, err := generate(shared)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files[0].content, first) {
		t.Error("generation is not byte-reproducible")
	}
	// The source table is derived, not a copy of the catalogue.
	raw, err := os.ReadFile(filepath.Join(shared, "data", lsstCatalogue))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(files[1].content, raw) {
		t.Error("lsst_sources.csv is a byte copy of the catalogue")
	}
	if rc := run([]string{"-shared", shared, "-out", dir, "-check"}, &out, &errb); rc != 0 {
		t.Fatalf("check after write failed (rc %d): %s", rc, errb.String())
	}
	edited := bytes.Replace(first, []byte("\n0.00500,"), []byte("\n0.00501,"), 1)
	if err := os.WriteFile(filepath.Join(dir, "deflector_colours.csv"), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "lsst_sources.csv")); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if rc := run([]string{"-shared", shared, "-out", dir, "-check"}, &out, &errb); rc != 1 {
		t.Fatalf("check of edited files: rc %d, want 1", rc)
	}
	msg := errb.String()
	for _, want := range []string{"deflector_colours.csv is out of date", "1 of", "0.00501", "lsst_sources.csv: cannot read"} {
		if !strings.Contains(msg, want) {
			t.Errorf("check message lacks %q:\n%s", want, msg)
		}
	}
}
