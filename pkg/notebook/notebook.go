// Package notebook holds small display helpers for GoNB notebooks: figures,
// images, HTML tables and Markdown shown inline, a progress bar for
// simulate.Run and a live loss plot for training, both redrawn in place;
// HStack to show several images (a lens and its corner plot) as one PNG,
// RGBBands to pick a cutout's g r i planes for a colour composite, and
// Save/Load to hand computed values from one GoNB cell to the next.
//
// The helpers are built on github.com/janpfeifer/gonb/gonbui. Outside a GoNB
// kernel (InNotebook reports false) they render nothing and return nil, so
// code that uses them also runs as an ordinary program or test. Rendering
// errors (a figure that cannot be drawn) are still returned in both cases.
//
// The training display for npe lives in the subpackage npeview, so that
// notebooks that only simulate do not link GoMLX.
package notebook

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image"
	"image/png"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/lenssbi/lenssbi/pkg/plot"
)

// Output hooks; tests replace them to record what would be displayed.
var (
	inNotebook  = func() bool { return gonbui.IsNotebook }
	showHTML    = gonbui.DisplayHTML
	showMD      = gonbui.DisplayMarkdown
	showPNG     = gonbui.DisplayPNG
	updateHTML  = gonbui.UpdateHTML
	newUniqueID = gonbui.UniqueID
	syncOut     = gonbui.Sync
)

// Flush waits until the kernel has received every output sent so far. The
// display functions of this package call it themselves (a program that exits
// right after a display could otherwise lose it); it is exported for code
// that also calls gonbui directly.
func Flush() {
	if inNotebook() {
		syncOut()
	}
}

// InNotebook reports whether the program runs inside a GoNB kernel; when it
// does not, the display functions of this package show nothing.
func InNotebook() bool { return inNotebook() }

// HTML shows an HTML fragment as a cell output and waits until the kernel
// has it (see Flush).
func HTML(fragment string) {
	if inNotebook() {
		showHTML(fragment)
		syncOut()
	}
}

// Markdown shows Markdown text as a cell output and waits until the kernel
// has it.
func Markdown(md string) {
	if inNotebook() {
		showMD(md)
		syncOut()
	}
}

// PNG shows PNG-encoded bytes as a cell output (an image/png output) and
// waits until the kernel has it.
func PNG(data []byte) {
	if inNotebook() {
		showPNG(data)
		syncOut()
	}
}

// Image encodes img as PNG and shows it. It returns an error for a nil image
// or when encoding fails.
func Image(img image.Image) error {
	data, err := encodePNG(img)
	if err != nil {
		return err
	}
	PNG(data)
	return nil
}

// Figure draws f as PNG (at its Width, Height and Style.DPI) and shows it.
func Figure(f *plot.Figure) error {
	data, err := figurePNG(f)
	if err != nil {
		return err
	}
	PNG(data)
	return nil
}

func encodePNG(img image.Image) ([]byte, error) {
	if img == nil {
		return nil, fmt.Errorf("notebook: nil image")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("notebook: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

func figurePNG(f *plot.Figure) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("notebook: nil figure")
	}
	var buf bytes.Buffer
	if err := f.WritePNG(&buf); err != nil {
		return nil, fmt.Errorf("notebook: drawing figure: %w", err)
	}
	return buf.Bytes(), nil
}

// ImgTag returns an HTML <img> element that embeds PNG bytes as a data URI;
// alt is escaped.
func ImgTag(pngData []byte, alt string) string {
	return `<img alt="` + html.EscapeString(alt) + `" src="data:image/png;base64,` +
		base64.StdEncoding.EncodeToString(pngData) + `">`
}

// TableHTML renders headers and rows as an HTML table. Every cell is
// HTML-escaped, so values may contain <, > and &. A row shorter than headers
// is padded with empty cells; a longer one keeps its extra cells. headers may
// be nil (no header row).
func TableHTML(headers []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("<table>\n")
	if len(headers) > 0 {
		b.WriteString("<thead><tr>")
		for _, h := range headers {
			b.WriteString("<th>" + html.EscapeString(h) + "</th>")
		}
		b.WriteString("</tr></thead>\n")
	}
	b.WriteString("<tbody>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for i := 0; i < max(len(r), len(headers)); i++ {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			b.WriteString("<td>" + html.EscapeString(c) + "</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>")
	return b.String()
}

// Table shows headers and rows as an HTML table (see TableHTML).
func Table(headers []string, rows [][]string) {
	HTML(TableHTML(headers, rows))
}
