package dataset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// ImageHDU is a float32 image extension for WriteFITS. Dims are in FITS
// order (NAXIS1, the fastest-varying axis, first); AxisNames comment them.
type ImageHDU struct {
	Name      string
	Unit      string
	Dims      []int
	AxisNames []string
	Data      []float32
	Cards     []Card
}

// TableHDU is a binary table for WriteFITS: Data[k] holds column k's values,
// one per row (integers for 'J'/'K' columns).
type TableHDU struct {
	Name    string
	Comment string
	Columns []Column
	Data    [][]float64
	Cards   []Card
}

// WriteFITS writes a FITS file holding a data-less primary HDU with the given
// keywords, then the extensions (ImageHDU or TableHDU values) in order. The
// file is written to a temporary name and renamed; an existing file is
// refused unless force is set. Files pass astropy's verification.
func WriteFITS(path string, primary []Card, force bool, hdus ...any) error {
	if !force {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s already exists (use --force to overwrite it)", path)
		}
	}
	ph := newHeader()
	if err := ph.addAll([]card{
		{key: "SIMPLE", value: true, comment: "conforms to FITS standard"},
		{key: "BITPIX", value: 8, comment: "no data in the primary HDU"},
		{key: "NAXIS", value: 0, comment: "no data in the primary HDU"},
		{key: "EXTEND", value: true, comment: "extensions follow"},
	}); err != nil {
		return err
	}
	for _, c := range primary {
		if err := ph.add(c.Key, c.Value, c.Comment); err != nil {
			return fmt.Errorf("writing %s: primary keyword: %w", path, err)
		}
	}
	f, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := writeHeader(w, ph); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	for _, u := range hdus {
		var err error
		switch h := u.(type) {
		case ImageHDU:
			err = writeImageHDU(w, h)
		case TableHDU:
			err = writeTableHDU(w, h)
		default:
			err = fmt.Errorf("unsupported HDU type %T", u)
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	ok = true
	return nil
}

func writeHeader(w *bufio.Writer, h *header) error {
	b, err := h.encode()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func writePad(w *bufio.Writer, n int64) error {
	if p := padTo(n) - n; p > 0 {
		_, err := w.Write(make([]byte, p))
		return err
	}
	return nil
}

func writeImageHDU(w *bufio.Writer, u ImageHDU) error {
	n := 1
	for _, d := range u.Dims {
		if d <= 0 {
			return fmt.Errorf("HDU %s: dimension %d", u.Name, d)
		}
		n *= d
	}
	if len(u.Dims) == 0 || n != len(u.Data) {
		return fmt.Errorf("HDU %s: %d values for dimensions %v", u.Name, len(u.Data), u.Dims)
	}
	h := newHeader()
	cards := []card{
		{key: "XTENSION", value: "IMAGE", comment: "image extension"},
		{key: "BITPIX", value: -32, comment: "IEEE single precision"},
		{key: "NAXIS", value: len(u.Dims)},
	}
	for i, d := range u.Dims {
		c := card{key: fmt.Sprintf("NAXIS%d", i+1), value: d}
		if i < len(u.AxisNames) {
			c.comment = u.AxisNames[i]
		}
		cards = append(cards, c)
	}
	cards = append(cards, card{key: "PCOUNT", value: 0}, card{key: "GCOUNT", value: 1}, card{key: "EXTNAME", value: u.Name})
	if u.Unit != "" {
		cards = append(cards, card{key: "BUNIT", value: u.Unit})
	}
	if err := h.addAll(cards); err != nil {
		return fmt.Errorf("HDU %s: %w", u.Name, err)
	}
	for _, c := range u.Cards {
		if err := h.add(c.Key, c.Value, c.Comment); err != nil {
			return fmt.Errorf("HDU %s: %w", u.Name, err)
		}
	}
	if err := writeHeader(w, h); err != nil {
		return err
	}
	buf := make([]byte, 4*min(len(u.Data), 1<<16))
	for off := 0; off < len(u.Data); off += len(buf) / 4 {
		chunk := u.Data[off:min(len(u.Data), off+len(buf)/4)]
		putFloat32s(buf, chunk)
		if _, err := w.Write(buf[:4*len(chunk)]); err != nil {
			return err
		}
	}
	return writePad(w, int64(4*len(u.Data)))
}

func writeTableHDU(w *bufio.Writer, u TableHDU) error {
	if len(u.Columns) != len(u.Data) {
		return fmt.Errorf("HDU %s: %d columns, %d data columns", u.Name, len(u.Columns), len(u.Data))
	}
	cols, err := normalizeColumnsGeneric(u.Columns)
	if err != nil {
		return fmt.Errorf("HDU %s: %w", u.Name, err)
	}
	rows := 0
	if len(u.Data) > 0 {
		rows = len(u.Data[0])
	}
	for k, d := range u.Data {
		if len(d) != rows {
			return fmt.Errorf("HDU %s: column %s has %d rows, want %d", u.Name, cols[k].Name, len(d), rows)
		}
	}
	h, err := tableHeader(u.Name, u.Comment, cols, rows)
	if err != nil {
		return fmt.Errorf("HDU %s: %w", u.Name, err)
	}
	for _, c := range u.Cards {
		if err := h.add(c.Key, c.Value, c.Comment); err != nil {
			return fmt.Errorf("HDU %s: %w", u.Name, err)
		}
	}
	if err := writeHeader(w, h); err != nil {
		return err
	}
	var size int64
	row := make([]byte, 0, 8*len(cols))
	for i := 0; i < rows; i++ {
		row = row[:0]
		for k, c := range cols {
			v := u.Data[k][i]
			switch c.Format {
			case "J":
				row = binary.BigEndian.AppendUint32(row, uint32(int32(v)))
			case "K":
				row = binary.BigEndian.AppendUint64(row, uint64(int64(v)))
			default:
				row = binary.BigEndian.AppendUint64(row, math.Float64bits(v))
			}
		}
		if _, err := w.Write(row); err != nil {
			return err
		}
		size += int64(len(row))
	}
	return writePad(w, size)
}

// normalizeColumnsGeneric defaults formats to 'D' and checks names.
func normalizeColumnsGeneric(cols []Column) ([]Column, error) {
	out := make([]Column, len(cols))
	seen := map[string]bool{}
	for i, c := range cols {
		if c.Format == "" {
			c.Format = "D"
		}
		if c.Format != "D" && c.Format != "J" && c.Format != "K" {
			return nil, fmt.Errorf("column %s: format %q (want D, J or K)", c.Name, c.Format)
		}
		if c.Name == "" || seen[c.Name] {
			return nil, errors.New("empty or repeated column name " + c.Name)
		}
		seen[c.Name] = true
		out[i] = c
	}
	return out, nil
}
