package dataset

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Column describes one column of the PARAMS table.
type Column struct {
	// Name is the column name (TTYPEn): upper-case letters, digits and '_',
	// starting with a letter. Lower-case names are upper-cased by Create.
	Name string
	// Unit is a FITS-standard unit string (TUNITn), e.g. "arcsec", "km/s",
	// "Mpc"; empty for dimensionless quantities.
	Unit string
	// Description is a short human-readable description (TCOMMn).
	Description string
	// Format is the FITS binary-table format: "D" (float64, the default when
	// empty), "J" (int32) or "K" (int64). Values are always passed and
	// returned as float64; integer columns must hold integral values.
	Format string
}

// Card is one extra keyword for the primary header.
type Card struct {
	// Key is the FITS keyword: 1-8 characters of A-Z, 0-9, '-' and '_'.
	// "COMMENT" and "HISTORY" make commentary cards (Value must be a string or nil).
	Key string
	// Value is a string, bool, Go integer or float (finite). Read back,
	// integers are int64 (uint64 beyond its range) and reals are float64.
	Value any
	// Comment is the card comment, truncated to fit the 80-character card.
	Comment string
}

// Meta is the provenance recorded in the primary header of every file of a dataset.
//
// SimVersion is set by the program that simulates the lenses (lenssbi
// simulate sets simulate.OutputVersion): the same preset, seed, settings and
// SimVersion give the same lenses and pixels. Files written before the SIMVER
// keyword existed (before 2026-11-27), or by programs that do not set it,
// read back with SimVersion 0.
type Meta struct {
	Version     string    // LENSSBI: lenssbi version; Create fills in version.Version when empty
	Creator     string    // CREATOR: program that wrote the file; "lenssbi" when empty
	Date        time.Time // DATE: UTC creation time, whole seconds; Create uses the current time when zero
	Preset      string    // PRESET: survey preset name
	Seed        uint64    // SEED: simulation seed
	H0          float64   // H0: Hubble constant in km/s/Mpc
	Om0         float64   // OM0: matter density today
	NX, NY      int       // NX, NY: image width and height in pixels
	Bands       []string  // BANDS: band names in cube order, e.g. g r i z
	PixScale    float64   // PIXSCALE: pixel scale in arcsec
	Supersample int       // SUPERSMP: supersampling factor used when rendering
	SimVersion  int       // SIMVER: simulator output version (simulate.OutputVersion), written when > 0; 0: not recorded
	Extra       []Card    // further keywords, written after the provenance keywords in this order
}

// Provenance keywords of the primary header, in the order written.
var provenanceKeys = []string{
	"LENSSBI", "CREATOR", "DATE", "PRESET", "SEED", "H0", "OM0",
	"NLENS", "NTOTAL", "SHARD", "NSHARDS", "FIRSTIDX",
	"NX", "NY", "NBANDS", "BANDS", "PIXSCALE", "SUPERSMP", "SIMVER",
}

// reservedKeys may not appear in Meta.Extra.
var reservedKeys = func() map[string]bool {
	m := map[string]bool{
		"SIMPLE": true, "BITPIX": true, "NAXIS": true, "EXTEND": true, "END": true,
		"XTENSION": true, "PCOUNT": true, "GCOUNT": true, "EXTNAME": true,
		"BSCALE": true, "BZERO": true, "BUNIT": true, "CONTINUE": true,
	}
	for _, k := range provenanceKeys {
		m[k] = true
	}
	return m
}()

func isReserved(key string) bool {
	if reservedKeys[key] {
		return true
	}
	return strings.HasPrefix(key, "NAXIS") && len(key) > 5 && strings.Trim(key[5:], "0123456789") == ""
}

// dateLayout is the FITS DATE format (UTC).
const dateLayout = "2006-01-02T15:04:05"

// bandRE restricts band names so that the comma-separated BANDS value is unambiguous.
var bandRE = regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,16}$`)

// columnRE is the allowed column-name syntax (after upper-casing).
var columnRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,67}$`)

// validate checks the parts of Meta that every file needs.
func (m *Meta) validate() error {
	if m.NX <= 0 || m.NY <= 0 {
		return fmt.Errorf("image size NX=%d NY=%d must be positive", m.NX, m.NY)
	}
	if len(m.Bands) == 0 {
		return fmt.Errorf("no bands given")
	}
	seen := map[string]bool{}
	for _, b := range m.Bands {
		if !bandRE.MatchString(b) {
			return fmt.Errorf("band name %q: use 1-16 characters of letters, digits, '_', '.', '+' or '-'", b)
		}
		if seen[b] {
			return fmt.Errorf("band %q listed twice", b)
		}
		seen[b] = true
	}
	if m.Supersample < 0 {
		return fmt.Errorf("supersampling factor %d is negative", m.Supersample)
	}
	if m.SimVersion < 0 {
		return fmt.Errorf("simulator output version %d is negative", m.SimVersion)
	}
	for _, s := range []string{m.Version, m.Creator, m.Preset} {
		if err := validText(s); err != nil {
			return err
		}
	}
	for _, c := range m.Extra {
		if isReserved(c.Key) {
			return fmt.Errorf("extra keyword %s is reserved by the dataset format", c.Key)
		}
	}
	return nil
}

// shardInfo holds the per-file keywords of the primary header.
type shardInfo struct {
	nlens, ntotal, shard, nshards, first int
}

// primaryHeader builds the primary header of one file.
func primaryHeader(m *Meta, s shardInfo) (*header, error) {
	h := newHeader()
	cards := []card{
		{key: "SIMPLE", value: true, comment: "conforms to FITS standard"},
		{key: "BITPIX", value: 8, comment: "no data in the primary HDU"},
		{key: "NAXIS", value: 0, comment: "no data in the primary HDU"},
		{key: "EXTEND", value: true, comment: "extensions follow: IMAGES, VARIANCE, PARAMS"},
		{key: "LENSSBI", value: m.Version, comment: "lenssbi version"},
		{key: "CREATOR", value: m.Creator, comment: "program that wrote this file"},
		{key: "DATE", value: m.Date.UTC().Format(dateLayout), comment: "UTC creation time"},
		{key: "PRESET", value: m.Preset, comment: "survey preset"},
		{key: "SEED", value: m.Seed, comment: "simulation random seed"},
		{key: "H0", value: m.H0, comment: "[km/s/Mpc] Hubble constant"},
		{key: "OM0", value: m.Om0, comment: "matter density parameter today"},
		{key: "NLENS", value: s.nlens, comment: "lenses in this file"},
		{key: "NTOTAL", value: s.ntotal, comment: "lenses in the whole dataset"},
		{key: "SHARD", value: s.shard, comment: "index of this file among the shards"},
		{key: "NSHARDS", value: s.nshards, comment: "number of shard files"},
		{key: "FIRSTIDX", value: s.first, comment: "global index of the first lens here"},
		{key: "NX", value: m.NX, comment: "[pixel] image width"},
		{key: "NY", value: m.NY, comment: "[pixel] image height"},
		{key: "NBANDS", value: len(m.Bands), comment: "number of bands"},
		{key: "BANDS", value: strings.Join(m.Bands, ","), comment: "bands in cube order"},
		{key: "PIXSCALE", value: m.PixScale, comment: "[arcsec] pixel scale"},
		{key: "SUPERSMP", value: m.Supersample, comment: "supersampling factor"},
	}
	if m.SimVersion > 0 {
		cards = append(cards, card{key: "SIMVER", value: m.SimVersion, comment: "lenssbi simulator output version"})
	}
	if err := h.addAll(cards); err != nil {
		return nil, err
	}
	for _, c := range m.Extra {
		if err := h.add(c.Key, c.Value, c.Comment); err != nil {
			return nil, fmt.Errorf("extra keyword: %w", err)
		}
	}
	return h, nil
}

// parsePrimary reads Meta and the shard keywords back from a primary header.
func parsePrimary(h *header) (Meta, shardInfo, error) {
	var m Meta
	var s shardInfo
	var err error
	str := func(key string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = h.str(key)
		return v
	}
	num := func(key string) float64 {
		if err != nil {
			return 0
		}
		var v float64
		v, err = h.float(key)
		return v
	}
	integer := func(key string) int {
		if err != nil {
			return 0
		}
		var v int64
		v, err = h.int(key)
		if err == nil && (v < 0 || v > 1<<40) {
			err = fmt.Errorf("keyword %s = %d out of range", key, v)
		}
		return int(v)
	}
	m.Version = str("LENSSBI")
	m.Creator = str("CREATOR")
	date := str("DATE")
	m.Preset = str("PRESET")
	if err == nil {
		m.Seed, err = h.uint("SEED")
	}
	m.H0 = num("H0")
	m.Om0 = num("OM0")
	s.nlens = integer("NLENS")
	s.ntotal = integer("NTOTAL")
	s.shard = integer("SHARD")
	s.nshards = integer("NSHARDS")
	s.first = integer("FIRSTIDX")
	m.NX = integer("NX")
	m.NY = integer("NY")
	nb := integer("NBANDS")
	bands := str("BANDS")
	m.PixScale = num("PIXSCALE")
	m.Supersample = integer("SUPERSMP")
	if _, ok := h.get("SIMVER"); ok { // absent in files written before 2026-11-27
		m.SimVersion = integer("SIMVER")
	}
	if err != nil {
		return m, s, err
	}
	if m.Date, err = time.Parse(dateLayout, date); err != nil {
		return m, s, fmt.Errorf("keyword DATE = %q is not YYYY-MM-DDThh:mm:ss", date)
	}
	m.Bands = strings.Split(bands, ",")
	if len(m.Bands) != nb {
		return m, s, fmt.Errorf("BANDS = %q lists %d bands but NBANDS = %d", bands, len(m.Bands), nb)
	}
	for _, c := range h.cards {
		if c.key == "" || isReserved(c.key) {
			continue
		}
		v := c.value
		if isCommentary(c.key) {
			v = c.comment
		}
		m.Extra = append(m.Extra, Card{Key: c.key, Value: v, Comment: c.comment})
		if isCommentary(c.key) {
			m.Extra[len(m.Extra)-1].Comment = ""
		}
	}
	return m, s, nil
}

// sameMeta reports the first provenance field in which two shards differ.
func sameMeta(a, b *Meta) string {
	switch {
	case a.Version != b.Version:
		return fmt.Sprintf("LENSSBI %q vs %q", b.Version, a.Version)
	case a.Preset != b.Preset:
		return fmt.Sprintf("PRESET %q vs %q", b.Preset, a.Preset)
	case a.Seed != b.Seed:
		return fmt.Sprintf("SEED %d vs %d", b.Seed, a.Seed)
	case a.H0 != b.H0:
		return fmt.Sprintf("H0 %g vs %g", b.H0, a.H0)
	case a.Om0 != b.Om0:
		return fmt.Sprintf("OM0 %g vs %g", b.Om0, a.Om0)
	case a.NX != b.NX:
		return fmt.Sprintf("NX %d vs %d", b.NX, a.NX)
	case a.NY != b.NY:
		return fmt.Sprintf("NY %d vs %d", b.NY, a.NY)
	case strings.Join(a.Bands, ",") != strings.Join(b.Bands, ","):
		return fmt.Sprintf("BANDS %q vs %q", strings.Join(b.Bands, ","), strings.Join(a.Bands, ","))
	case a.PixScale != b.PixScale:
		return fmt.Sprintf("PIXSCALE %g vs %g", b.PixScale, a.PixScale)
	case a.Supersample != b.Supersample:
		return fmt.Sprintf("SUPERSMP %d vs %d", b.Supersample, a.Supersample)
	case a.SimVersion != b.SimVersion:
		return fmt.Sprintf("SIMVER %d vs %d (simulator output versions; 0: not recorded)", b.SimVersion, a.SimVersion)
	}
	return ""
}

// normalizeColumns validates user columns and prepends the INDEX column.
func normalizeColumns(cols []Column) ([]Column, error) {
	out := []Column{{Name: "INDEX", Format: "K", Description: "global lens index in the dataset"}}
	seen := map[string]bool{"INDEX": true}
	for i, c := range cols {
		c.Name = strings.ToUpper(strings.TrimSpace(c.Name))
		if !columnRE.MatchString(c.Name) {
			return nil, fmt.Errorf("column %d name %q: use a letter then letters, digits or '_' (at most 68)", i, cols[i].Name)
		}
		if seen[c.Name] {
			if c.Name == "INDEX" {
				return nil, fmt.Errorf("column INDEX is added by the writer; do not pass it")
			}
			return nil, fmt.Errorf("column %s listed twice", c.Name)
		}
		seen[c.Name] = true
		switch c.Format {
		case "":
			c.Format = "D"
		case "D", "J", "K":
		default:
			return nil, fmt.Errorf("column %s format %q: use D (float64), J (int32) or K (int64)", c.Name, c.Format)
		}
		if err := validText(c.Unit + c.Description); err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// formatSize is the byte width of a column format.
func formatSize(f string) int {
	switch f {
	case "J":
		return 4
	default:
		return 8
	}
}
