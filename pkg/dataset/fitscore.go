package dataset

// A small FITS core: header cards (encode and parse), HDU discovery with
// truncation checks, and big-endian data conversion. The writer side exists
// because astrogo/fitsio v0.3.0 writes headers that astropy flags (see doc.go);
// the scanning side exists because fitsio decodes every HDU's data into memory,
// while datasets need random access to lens ranges inside large image cubes.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

const (
	blockSize = 2880 // FITS logical record
	cardLen   = 80   // one header card
	// maxHeaderBlocks bounds the header scan so that a garbage file cannot make
	// us read forever (10000 blocks = 360000 cards).
	maxHeaderBlocks = 10000
)

// padTo returns n rounded up to a whole number of FITS blocks.
func padTo(n int64) int64 {
	return (n + blockSize - 1) / blockSize * blockSize
}

// card is one parsed or to-be-written header card.
type card struct {
	key     string // keyword, upper case; "COMMENT", "HISTORY" or "" for commentary cards
	value   any    // nil (undefined or commentary), string, bool, int64, uint64 or float64
	raw     string // value as written in the file (for reporting); empty for commentary
	comment string // comment text, or the text of a commentary card
}

// header is an ordered list of cards with an index by keyword (first occurrence).
type header struct {
	cards []card
	index map[string]int
}

func newHeader() *header {
	return &header{index: make(map[string]int)}
}

// isCommentary reports whether key names a commentary card (no value).
func isCommentary(key string) bool {
	return key == "COMMENT" || key == "HISTORY" || key == ""
}

// validKeyword checks the FITS keyword rules: 1-8 characters of A-Z 0-9 - _.
func validKeyword(key string) error {
	if len(key) == 0 || len(key) > 8 {
		return fmt.Errorf("keyword %q must have 1 to 8 characters", key)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("keyword %q may only contain A-Z, 0-9, '-' and '_'", key)
		}
	}
	return nil
}

// validText checks that s holds only printable ASCII, as FITS headers require.
func validText(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("text %q holds a character (byte 0x%02x) that is not printable ASCII", s, s[i])
		}
	}
	return nil
}

// normalizeValue converts a Go value to one of the card value types.
func normalizeValue(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return x, validText(x)
	case bool:
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint:
		return normalizeValue(uint64(x))
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		return x, nil
	case float32:
		return normalizeValue(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("value %v cannot be written to a FITS header", x)
		}
		return x, nil
	default:
		return nil, fmt.Errorf("unsupported header value type %T (use string, bool, integer or float)", v)
	}
}

// add appends a card after validating the keyword, value and comment.
func (h *header) add(key string, value any, comment string) error {
	if !isCommentary(key) {
		if err := validKeyword(key); err != nil {
			return err
		}
	}
	v, err := normalizeValue(value)
	if err != nil {
		return fmt.Errorf("keyword %s: %w", key, err)
	}
	if err := validText(comment); err != nil {
		return fmt.Errorf("keyword %s comment: %w", key, err)
	}
	if isCommentary(key) {
		if v != nil {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("commentary keyword %q takes a string, not %T", key, value)
			}
			comment = s
		}
		h.cards = append(h.cards, card{key: key, comment: comment})
		return nil
	}
	if _, dup := h.index[key]; dup {
		return fmt.Errorf("keyword %s given twice", key)
	}
	h.index[key] = len(h.cards)
	h.cards = append(h.cards, card{key: key, value: v, comment: comment})
	return nil
}

// addAll adds the cards in order, stopping at the first error.
func (h *header) addAll(cards []card) error {
	for _, c := range cards {
		if err := h.add(c.key, c.value, c.comment); err != nil {
			return err
		}
	}
	return nil
}

// get returns the first card with the given keyword.
func (h *header) get(key string) (card, bool) {
	i, ok := h.index[key]
	if !ok {
		return card{}, false
	}
	return h.cards[i], true
}

// errMissing is wrapped by the typed getters when a keyword is absent.
var errMissing = errors.New("missing keyword")

// int returns an integer keyword.
func (h *header) int(key string) (int64, error) {
	c, ok := h.get(key)
	if !ok {
		return 0, fmt.Errorf("%w %s", errMissing, key)
	}
	switch v := c.value.(type) {
	case int64:
		return v, nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), nil
		}
	}
	return 0, fmt.Errorf("keyword %s = %s is not an integer", key, c.raw)
}

// uint returns a non-negative integer keyword that may exceed int64.
func (h *header) uint(key string) (uint64, error) {
	c, ok := h.get(key)
	if !ok {
		return 0, fmt.Errorf("%w %s", errMissing, key)
	}
	switch v := c.value.(type) {
	case uint64:
		return v, nil
	case int64:
		if v >= 0 {
			return uint64(v), nil
		}
	}
	return 0, fmt.Errorf("keyword %s = %s is not a non-negative integer", key, c.raw)
}

// float returns a real (or integer) keyword.
func (h *header) float(key string) (float64, error) {
	c, ok := h.get(key)
	if !ok {
		return 0, fmt.Errorf("%w %s", errMissing, key)
	}
	switch v := c.value.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	}
	return 0, fmt.Errorf("keyword %s = %s is not a number", key, c.raw)
}

// str returns a string keyword.
func (h *header) str(key string) (string, error) {
	c, ok := h.get(key)
	if !ok {
		return "", fmt.Errorf("%w %s", errMissing, key)
	}
	s, ok := c.value.(string)
	if !ok {
		return "", fmt.Errorf("keyword %s = %s is not a string", key, c.raw)
	}
	return s, nil
}

// formatFloat writes v in the shortest form that reads back to the same
// float64, always with a decimal point so that readers type it as real.
func formatFloat(v float64) string {
	s := strconv.FormatFloat(v, 'G', -1, 64)
	if strings.ContainsAny(s, ".") {
		return s
	}
	if i := strings.IndexByte(s, 'E'); i >= 0 {
		return s[:i] + ".0" + s[i:]
	}
	return s + ".0"
}

// escapeQuotes doubles single quotes, the FITS string escape.
func escapeQuotes(s string) string {
	return strings.ReplaceAll(s, "'", "''")
}

// encodeCard renders one card as one or more 80-character lines.
func encodeCard(c card) ([]byte, error) {
	var lines []string
	if isCommentary(c.key) {
		text := c.comment
		for {
			n := min(len(text), 72)
			lines = append(lines, fmt.Sprintf("%-8s%s", c.key, text[:n]))
			text = text[n:]
			if len(text) == 0 {
				break
			}
		}
		return padLines(lines), nil
	}
	prefix := fmt.Sprintf("%-8s= ", c.key)
	var line string
	switch v := c.value.(type) {
	case nil:
		line = prefix + fmt.Sprintf("%20s", "") // undefined value
	case bool:
		t := "F"
		if v {
			t = "T"
		}
		line = prefix + fmt.Sprintf("%20s", t)
	case int64:
		line = prefix + fmt.Sprintf("%20d", v)
	case uint64:
		line = prefix + fmt.Sprintf("%20d", v)
	case float64:
		line = prefix + fmt.Sprintf("%20s", formatFloat(v))
	case string:
		return encodeString(prefix, v, c.comment), nil
	default:
		return nil, fmt.Errorf("keyword %s: unsupported value type %T", c.key, c.value)
	}
	lines = append(lines, appendComment(line, c.comment))
	return padLines(lines), nil
}

// appendComment adds " / comment" to a line, truncating the comment to fit.
func appendComment(line, comment string) string {
	if comment == "" {
		return line
	}
	room := cardLen - len(line) - 3
	if room <= 0 {
		return line
	}
	if len(comment) > room {
		comment = comment[:room]
	}
	return line + " / " + comment
}

// encodeString writes a string card, using the CONTINUE long-string
// convention when the quoted value does not fit in one card.
func encodeString(prefix, s, comment string) []byte {
	// Short form: the quoted string, padded to at least 8 characters, starts in column 11.
	esc := escapeQuotes(s)
	if len(esc) <= 68 {
		q := "'" + fmt.Sprintf("%-8s", esc) + "'"
		return padLines([]string{appendComment(prefix+fmt.Sprintf("%-20s", q), comment)})
	}
	// Long form: chunks of at most 67 escaped characters ending in '&', the
	// last one without; never split a doubled quote.
	var lines []string
	first := true
	for {
		n, used := 0, 0
		for n < len(s) {
			w := 1
			if s[n] == '\'' {
				w = 2
			}
			if used+w > 67 {
				break
			}
			used += w
			n++
		}
		chunk := escapeQuotes(s[:n])
		s = s[n:]
		last := len(s) == 0
		var line string
		head := prefix
		if !first {
			head = "CONTINUE  "
		}
		if last {
			line = appendComment(head+"'"+chunk+"'", comment)
		} else {
			line = head + "'" + chunk + "&'"
		}
		lines = append(lines, line)
		first = false
		if last {
			break
		}
	}
	return padLines(lines)
}

// padLines pads each line to 80 characters and concatenates them.
func padLines(lines []string) []byte {
	out := make([]byte, 0, len(lines)*cardLen)
	for _, l := range lines {
		out = append(out, l...)
		for i := len(l); i < cardLen; i++ {
			out = append(out, ' ')
		}
	}
	return out
}

// encode renders the header, END card and blank padding to a whole number of blocks.
func (h *header) encode() ([]byte, error) {
	var buf bytes.Buffer
	for _, c := range h.cards {
		b, err := encodeCard(c)
		if err != nil {
			return nil, err
		}
		if len(b)%cardLen != 0 {
			return nil, fmt.Errorf("keyword %s: encoded card is %d bytes, not a multiple of 80", c.key, len(b))
		}
		buf.Write(b)
	}
	buf.Write(padLines([]string{"END"}))
	for buf.Len()%blockSize != 0 {
		buf.WriteByte(' ')
	}
	return buf.Bytes(), nil
}

// parseCard parses one 80-byte header line. It returns isEnd for the END card.
func parseCard(line []byte) (c card, isEnd bool, err error) {
	if len(line) != cardLen {
		return c, false, fmt.Errorf("card of %d bytes, want 80", len(line))
	}
	for _, b := range line {
		if b < 0x20 || b > 0x7e {
			return c, false, fmt.Errorf("card %q holds a non-printable byte 0x%02x", line, b)
		}
	}
	key := strings.ToUpper(strings.TrimRight(string(line[:8]), " "))
	if key == "END" && strings.TrimSpace(string(line[8:])) == "" {
		return card{key: "END"}, true, nil
	}
	text := string(line)
	switch {
	case key == "HIERARCH":
		// ESO convention: HIERARCH A B C = value / comment
		eq := strings.IndexByte(text, '=')
		if eq < 0 {
			return card{key: "", comment: strings.TrimRight(text[8:], " ")}, false, nil
		}
		c.key = "HIERARCH " + strings.ToUpper(strings.TrimSpace(text[8:eq]))
		err = parseValue(text[eq+1:], &c)
		return c, false, err
	case key == "CONTINUE":
		c.key = "CONTINUE"
		err = parseValue(text[8:], &c)
		return c, false, err
	case isCommentary(key) || text[8:10] != "= ":
		return card{key: key, comment: strings.TrimRight(text[8:], " ")}, false, nil
	}
	c.key = key
	err = parseValue(text[10:], &c)
	if err != nil {
		err = fmt.Errorf("keyword %s: %w", key, err)
	}
	return c, false, err
}

// parseValue parses the value-and-comment field of a card.
func parseValue(s string, c *card) error {
	t := strings.TrimLeft(s, " ")
	if t == "" {
		return nil // undefined value
	}
	rest := ""
	if t[0] == '\'' {
		var sb strings.Builder
		i := 1
		closed := false
		for i < len(t) {
			if t[i] == '\'' {
				if i+1 < len(t) && t[i+1] == '\'' {
					sb.WriteByte('\'')
					i += 2
					continue
				}
				closed = true
				i++
				break
			}
			sb.WriteByte(t[i])
			i++
		}
		if !closed {
			return fmt.Errorf("string value %q has no closing quote", strings.TrimRight(t, " "))
		}
		c.value = strings.TrimRight(sb.String(), " ")
		c.raw = strings.TrimRight(t[:i], " ")
		rest = t[i:]
	} else {
		tok := t
		if j := strings.IndexByte(t, '/'); j >= 0 {
			tok, rest = t[:j], t[j:]
		}
		tok = strings.TrimSpace(tok)
		c.raw = tok
		switch {
		case tok == "":
			// undefined value followed by a comment
		case tok == "T":
			c.value = true
		case tok == "F":
			c.value = false
		case tok[0] == '(':
			c.value = tok // complex value: kept as text
		default:
			v, err := parseNumber(tok)
			if err != nil {
				return err
			}
			c.value = v
		}
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "/") {
		c.comment = strings.TrimSpace(rest[1:])
	}
	return nil
}

// parseNumber parses a FITS integer or real value (with E or D exponent).
func parseNumber(tok string) (any, error) {
	isInt := true
	for i := 0; i < len(tok); i++ {
		ch := tok[i]
		if !(ch >= '0' && ch <= '9' || (i == 0 && (ch == '+' || ch == '-'))) {
			isInt = false
			break
		}
	}
	if isInt {
		if v, err := strconv.ParseInt(tok, 10, 64); err == nil {
			return v, nil
		}
		if v, err := strconv.ParseUint(strings.TrimPrefix(tok, "+"), 10, 64); err == nil {
			return v, nil
		}
		return nil, fmt.Errorf("integer value %q out of range", tok)
	}
	f := strings.NewReplacer("D", "E", "d", "E").Replace(tok)
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid value %q", tok)
	}
	return v, nil
}

// hdu describes one header-data unit found in a file.
type hdu struct {
	index     int
	name      string // EXTNAME (upper case), or "PRIMARY" for the primary HDU without one
	xtension  string // "" for the primary HDU, else the XTENSION value
	hdr       *header
	headerOff int64 // byte offset of the first header card
	dataOff   int64 // byte offset of the data
	dataSize  int64 // data size in bytes, without padding
	bitpix    int
	axes      []int64 // NAXIS1, NAXIS2, ...
}

// end is the byte offset just past the padded data.
func (u *hdu) end() int64 { return u.dataOff + padTo(u.dataSize) }

// label names the HDU in error messages.
func (u *hdu) label() string {
	if u.index == 0 {
		return "primary HDU"
	}
	if u.name != "" {
		return fmt.Sprintf("HDU %d (%s)", u.index, u.name)
	}
	return fmt.Sprintf("HDU %d", u.index)
}

// readHeader reads header blocks at off until the END card. With lenient set,
// a card whose value cannot be parsed is kept with a nil value and its text in
// raw (real-world files carry the odd malformed card); otherwise it is an error.
func readHeader(r io.ReaderAt, off, size int64, lenient bool) (*header, int64, error) {
	h := newHeader()
	buf := make([]byte, blockSize)
	for nb := 0; nb < maxHeaderBlocks; nb++ {
		pos := off + int64(nb)*blockSize
		if pos+blockSize > size {
			return nil, 0, fmt.Errorf("truncated header at byte %d (file is %d bytes)", pos, size)
		}
		if _, err := r.ReadAt(buf, pos); err != nil {
			return nil, 0, fmt.Errorf("reading header at byte %d: %w", pos, err)
		}
		for i := 0; i < blockSize/cardLen; i++ {
			line := buf[i*cardLen : (i+1)*cardLen]
			c, isEnd, err := parseCard(line)
			if err != nil {
				if !lenient {
					return nil, 0, fmt.Errorf("header card %d: %w", nb*36+i+1, err)
				}
				c = card{key: strings.ToUpper(strings.TrimSpace(string(line[:8]))), raw: strings.TrimSpace(strings.Map(printable, string(line[8:])))}
			}
			if isEnd {
				return h, pos + blockSize, nil
			}
			if c.key == "CONTINUE" {
				// Long-string convention: append to the previous string ending in '&'.
				if n := len(h.cards); n > 0 {
					prev := &h.cards[n-1]
					if ps, ok := prev.value.(string); ok && strings.HasSuffix(ps, "&") {
						if cs, ok := c.value.(string); ok {
							prev.value = ps[:len(ps)-1] + cs
							if c.comment != "" {
								prev.comment = c.comment
							}
							continue
						}
					}
				}
				h.cards = append(h.cards, card{key: "", comment: "CONTINUE " + c.raw})
				continue
			}
			if isCommentary(c.key) {
				h.cards = append(h.cards, c)
				continue
			}
			if _, dup := h.index[c.key]; !dup {
				h.index[c.key] = len(h.cards)
			}
			h.cards = append(h.cards, c)
		}
	}
	return nil, 0, fmt.Errorf("no END card in the first %d header blocks", maxHeaderBlocks)
}

// printable replaces bytes that are not printable ASCII by '?'.
func printable(r rune) rune {
	if r < 0x20 || r > 0x7e {
		return '?'
	}
	return r
}

// scanHDUs walks all HDUs of a FITS file of the given size. With strict set the
// file must end exactly after the last HDU's padded data and every card must
// parse; otherwise trailing bytes that do not start an extension are ignored,
// the last HDU's padding may be missing (some writers omit it) and malformed
// cards are kept without a value.
func scanHDUs(r io.ReaderAt, size int64, strict bool) ([]*hdu, error) {
	var hdus []*hdu
	off := int64(0)
	for {
		if off >= size {
			break
		}
		if len(hdus) > 0 && !strict {
			// Anything other than an XTENSION block is trailing junk.
			head := make([]byte, 10)
			if size-off < blockSize {
				break
			}
			if _, err := r.ReadAt(head, off); err != nil || string(head[:10]) != "XTENSION= " {
				break
			}
		}
		h, dataOff, err := readHeader(r, off, size, !strict)
		if err != nil {
			if len(hdus) == 0 {
				return nil, fmt.Errorf("not a readable FITS file: %w", err)
			}
			return nil, fmt.Errorf("HDU %d: %w", len(hdus), err)
		}
		u := &hdu{index: len(hdus), hdr: h, headerOff: off, dataOff: dataOff}
		if len(hdus) == 0 {
			if len(h.cards) == 0 || h.cards[0].key != "SIMPLE" || h.cards[0].value != true {
				return nil, errors.New("not a FITS file: the first card is not SIMPLE = T")
			}
		} else {
			if len(h.cards) == 0 || h.cards[0].key != "XTENSION" {
				return nil, fmt.Errorf("HDU %d at byte %d does not start with XTENSION", len(hdus), off)
			}
			u.xtension, _ = h.cards[0].value.(string)
			u.xtension = strings.TrimSpace(u.xtension)
		}
		if name, err := h.str("EXTNAME"); err == nil {
			u.name = strings.ToUpper(strings.TrimSpace(name))
		} else if u.index == 0 {
			u.name = "PRIMARY"
		}
		if err := u.computeSize(); err != nil {
			return nil, fmt.Errorf("%s: %w", u.label(), err)
		}
		need := u.dataOff + u.dataSize
		if strict {
			need = u.end()
		}
		if need > size {
			return nil, fmt.Errorf("truncated: %s needs %d bytes of data from byte %d, but the file is %d bytes", u.label(), u.dataSize, u.dataOff, size)
		}
		hdus = append(hdus, u)
		off = u.end()
	}
	if strict && off != size {
		return nil, fmt.Errorf("file is %d bytes, but its HDUs end at byte %d", size, off)
	}
	return hdus, nil
}

// computeSize reads BITPIX, NAXISn, PCOUNT and GCOUNT and sets the data size.
func (u *hdu) computeSize() error {
	bp, err := u.hdr.int("BITPIX")
	if err != nil {
		return err
	}
	switch bp {
	case 8, 16, 32, 64, -32, -64:
	default:
		return fmt.Errorf("invalid BITPIX %d", bp)
	}
	u.bitpix = int(bp)
	n, err := u.hdr.int("NAXIS")
	if err != nil {
		return err
	}
	if n < 0 || n > 999 {
		return fmt.Errorf("invalid NAXIS %d", n)
	}
	u.axes = make([]int64, n)
	count := int64(1)
	for i := range u.axes {
		a, err := u.hdr.int(fmt.Sprintf("NAXIS%d", i+1))
		if err != nil {
			return err
		}
		if a < 0 {
			return fmt.Errorf("negative NAXIS%d = %d", i+1, a)
		}
		u.axes[i] = a
		if a > 0 && count > math.MaxInt64/a/8 {
			return errors.New("data size overflows")
		}
		count *= a
	}
	if n == 0 {
		count = 0
	}
	pcount, gcount := int64(0), int64(1)
	if v, err := u.hdr.int("PCOUNT"); err == nil {
		pcount = v
	}
	if v, err := u.hdr.int("GCOUNT"); err == nil {
		gcount = v
	}
	if pcount < 0 || gcount < 0 {
		return fmt.Errorf("negative PCOUNT %d or GCOUNT %d", pcount, gcount)
	}
	if n == 0 && pcount == 0 {
		u.dataSize = 0
		return nil
	}
	u.dataSize = int64(absInt(u.bitpix)/8) * gcount * (pcount + count)
	return nil
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// putFloat32s writes src as big-endian IEEE floats into dst (4*len(src) bytes).
func putFloat32s(dst []byte, src []float32) {
	_ = dst[4*len(src)-1]
	for i, v := range src {
		binary.BigEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// getFloat32s decodes big-endian IEEE floats from src into dst (len(src) = 4*len(dst)).
func getFloat32s(dst []float32, src []byte) {
	_ = src[4*len(dst)-1]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.BigEndian.Uint32(src[4*i:]))
	}
}
