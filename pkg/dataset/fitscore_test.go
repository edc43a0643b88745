package dataset

import (
	"math"
	"strings"
	"testing"
)

// TestCardRoundTrip encodes cards and parses them back: values must come back
// identical (reals bit for bit), and every line must be 80 characters.
func TestCardRoundTrip(t *testing.T) {
	long := strings.Repeat("abc'def ", 30) + "end" // quotes across CONTINUE boundaries
	cases := []card{
		{key: "A", value: true, comment: "yes"},
		{key: "B", value: false},
		{key: "I", value: int64(-123456789012345)},
		{key: "U", value: uint64(math.MaxUint64), comment: "beyond int64"},
		{key: "F1", value: 0.1},
		{key: "F2", value: 67.74},
		{key: "F3", value: 1e-300},
		{key: "F4", value: -math.MaxFloat64},
		{key: "F5", value: 1e21},
		{key: "F6", value: 3.0},
		{key: "F7", value: math.Nextafter(1, 2)},
		{key: "S1", value: "O'Hara", comment: "quote inside"},
		{key: "S2", value: ""},
		{key: "S3", value: "  leading spaces kept"},
		{key: "S4", value: strings.Repeat("x", 68)},
		{key: "LONG", value: long, comment: "a long string"},
		{key: "COMMENT", comment: strings.Repeat("c", 100)},
	}
	h := newHeader()
	if err := h.addAll(cases); err != nil {
		t.Fatal(err)
	}
	b, err := h.encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%blockSize != 0 {
		t.Fatalf("header is %d bytes, not whole blocks", len(b))
	}
	got, dataOff, err := readHeader(bytesReaderAt(b), 0, int64(len(b)), false)
	if err != nil {
		t.Fatal(err)
	}
	if dataOff != int64(len(b)) {
		t.Fatalf("data offset %d, want %d", dataOff, len(b))
	}
	for _, c := range cases[:len(cases)-1] {
		g, ok := got.get(c.key)
		if !ok {
			t.Fatalf("card %s lost", c.key)
		}
		if g.value != c.value {
			t.Errorf("%s: got %#v (raw %q), want %#v", c.key, g.value, g.raw, c.value)
		}
		if g.comment != c.comment {
			t.Errorf("%s: comment %q, want %q", c.key, g.comment, c.comment)
		}
	}
	// The 100-character comment is split over two COMMENT cards.
	var comments []string
	for _, c := range got.cards {
		if c.key == "COMMENT" {
			comments = append(comments, c.comment)
		}
	}
	if strings.Join(comments, "") != strings.Repeat("c", 100) || len(comments) != 2 {
		t.Errorf("COMMENT cards %q", comments)
	}
}

// TestFloatFormat checks the fixed formats written for reals: always a decimal
// point, shortest exact digits.
func TestFloatFormat(t *testing.T) {
	for v, want := range map[float64]string{
		70: "70.0", 0.263: "0.263", 1e-10: "1.0E-10", 1.5e21: "1.5E+21", -2: "-2.0", 0: "0.0",
	} {
		if got := formatFloat(v); got != want {
			t.Errorf("formatFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestParseForeignCards parses card forms other writers produce.
func TestParseForeignCards(t *testing.T) {
	pad := func(s string) []byte { return []byte(s + strings.Repeat(" ", 80-len(s))) }
	cases := []struct {
		line    string
		key     string
		value   any
		comment string
	}{
		{"EXPTIME =                 90.0 / exposure time", "EXPTIME", 90.0, "exposure time"},
		{"CRVAL1  =   1.2345678901234D+02", "CRVAL1", 123.45678901234, ""},
		{"GAIN    =                 4.", "GAIN", 4.0, ""},
		{"NAXIS1  = 100", "NAXIS1", int64(100), ""},
		{"FILTER  = 'g DECam SDSS c0001 4720.0 1520.0' / Unique filter identifier", "FILTER", "g DECam SDSS c0001 4720.0 1520.0", "Unique filter identifier"},
		{"OBJECT  = 'a/b'", "OBJECT", "a/b", ""},
		{"UNDEF   =                      / no value", "UNDEF", nil, "no value"},
		{"HIERARCH ESO DET CHIP = 'ccd1' / chip", "HIERARCH ESO DET CHIP", "ccd1", "chip"},
		{"lower   = T", "LOWER", true, ""},
		{"HISTORY processed = yes", "HISTORY", nil, "processed = yes"},
		{"NOEQUALS  just text", "NOEQUALS", nil, "  just text"},
	}
	for _, c := range cases {
		got, end, err := parseCard(pad(c.line))
		if err != nil || end {
			t.Fatalf("%q: err %v end %v", c.line, err, end)
		}
		if got.key != c.key || got.value != c.value || got.comment != c.comment {
			t.Errorf("%q: got key %q value %#v comment %q", c.line, got.key, got.value, got.comment)
		}
	}
	for _, bad := range []string{"X       = 'unterminated", "Y       = 12abc", "Z       = \x01"} {
		if _, _, err := parseCard(pad(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestHeaderRejects checks that invalid keywords and values are refused.
func TestHeaderRejects(t *testing.T) {
	h := newHeader()
	for _, c := range []card{
		{key: "TOOLONGKEY", value: 1},
		{key: "bad", value: 1},
		{key: "NAN", value: math.NaN()},
		{key: "INF", value: math.Inf(1)},
		{key: "UTF", value: "Å"},
		{key: "CMT", value: 1, comment: "é"},
		{key: "CPLX", value: complex(1, 2)},
	} {
		if err := h.add(c.key, c.value, c.comment); err == nil {
			t.Errorf("card %s = %v accepted", c.key, c.value)
		}
	}
	if err := h.add("DUP", 1, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.add("DUP", 2, ""); err == nil {
		t.Error("duplicate keyword accepted")
	}
}

// TestScanHDUsTruncation cuts a two-HDU file at every block boundary and
// inside the data: the strict scan must fail each time.
func TestScanHDUsTruncation(t *testing.T) {
	data := buildFITS(t,
		testHDU{cards: imageCards(true, 8)},
		testHDU{cards: imageCards(false, -32, 40, 30), data: float32Bytes(make([]float32, 1200))},
	)
	if _, err := scanHDUs(bytesReaderAt(data), int64(len(data)), true); err != nil {
		t.Fatal(err)
	}
	// (Cutting exactly after the primary HDU leaves a valid one-HDU file; the
	// dataset layer reports the missing extensions.)
	for _, cut := range []int{1, 100, blockSize, 2 * blockSize, len(data) - 1, len(data) - blockSize - 1} {
		d := data[:len(data)-cut]
		if _, err := scanHDUs(bytesReaderAt(d), int64(len(d)), true); err == nil {
			t.Errorf("cut %d bytes: no error", cut)
		}
	}
	// Lenient scan: a missing final padding is accepted, missing data is not.
	short := data[:len(data)-(blockSize*2-4800)]
	if _, err := scanHDUs(bytesReaderAt(short), int64(len(short)), false); err != nil {
		t.Errorf("lenient scan without padding: %v", err)
	}
	if _, err := scanHDUs(bytesReaderAt(short[:len(short)-4]), int64(len(short)-4), false); err == nil {
		t.Error("lenient scan accepted missing data")
	}
}

// TestLenientCards checks that a malformed card fails a strict scan (datasets)
// but not a lenient one (real cutouts), where it keeps its text.
func TestLenientCards(t *testing.T) {
	data := buildFITS(t, testHDU{cards: imageCards(true, -32, 2, 2), data: float32Bytes([]float32{1, 2, 3, 4})})
	bad := []byte("DATE-OBS= 2020-01-01T00:00:00 / unquoted date")
	copy(data[5*cardLen:], append(bad, []byte(strings.Repeat(" ", 80-len(bad)))...)) // replace the END card...
	copy(data[6*cardLen:], padLines([]string{"END"}))                                // ...and move END down
	if _, err := scanHDUs(bytesReaderAt(data), int64(len(data)), true); err == nil {
		t.Error("strict scan accepted a malformed card")
	}
	hdus, err := scanHDUs(bytesReaderAt(data), int64(len(data)), false)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := hdus[0].hdr.get("DATE-OBS")
	if !ok || c.value != nil || !strings.HasPrefix(c.raw, "= 2020-01-01") {
		t.Errorf("malformed card kept as %+v", c)
	}
}
