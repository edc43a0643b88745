package plot

import (
	"math"
	"strings"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// Layout constants of scriptText, in units of the base font size (em).
const (
	scriptScale = 0.7  // size of sub- and superscripts
	subDrop     = 0.2  // baseline drop of a subscript
	supRaise    = 0.42 // baseline raise of a superscript
)

// scriptText is a text.Handler for plain text with TeX-like sub- and
// superscripts, enough for axis labels such as "θ_E [arcsec]",
// "σ_v [km s^{−1}]" or "1.23^{+0.05}_{−0.04}":
//
//   - "_x" and "^x" set the single character x as a subscript or
//     superscript; "_{...}" and "^{...}" set a group (no nesting);
//   - a superscript directly followed by a subscript (or the reverse) is
//     stacked, the two sharing one horizontal position;
//   - a backslash makes the next character literal ("\_", "\^", "\{").
//
// Everything else is drawn as is, in the style's font; Greek letters and
// symbols are given as Unicode. Unlike gonum's LaTeX handler it never
// panics on unusual input: malformed scripts are drawn literally.
type scriptText struct {
	Fonts *font.Cache
}

var _ text.Handler = scriptText{}

// segKind tells how a segment of a line is set.
type segKind uint8

const (
	segNormal segKind = iota
	segSub
	segSup
)

// segment is one run of text with a single position and size.
type segment struct {
	s       string
	kind    segKind
	stacked bool // shares its x position with the previous (script) segment
}

// parseScripts splits a line into segments.
func parseScripts(line string) []segment {
	var (
		segs []segment
		cur  strings.Builder
	)
	flush := func() {
		if cur.Len() > 0 {
			segs = append(segs, segment{s: cur.String()})
			cur.Reset()
		}
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
		case (r == '_' || r == '^') && i+1 < len(rs):
			var body string
			if rs[i+1] == '{' {
				end := -1
				for j := i + 2; j < len(rs); j++ {
					if rs[j] == '}' {
						end = j
						break
					}
				}
				if end < 0 { // unbalanced: literal
					cur.WriteRune(r)
					continue
				}
				body = string(rs[i+2 : end])
				i = end
			} else {
				body = string(rs[i+1])
				i++
			}
			flush()
			kind := segSub
			if r == '^' {
				kind = segSup
			}
			st := false
			if n := len(segs); n > 0 && segs[n-1].kind != segNormal && segs[n-1].kind != kind && !segs[n-1].stacked {
				st = true
			}
			segs = append(segs, segment{s: body, kind: kind, stacked: st})
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return segs
}

// faces returns the base and script faces of fnt.
func (h scriptText) faces(fnt font.Font) (base, script *font.Face) {
	b := h.Fonts.Lookup(fnt, fnt.Size)
	sc := h.Fonts.Lookup(fnt, fnt.Size*scriptScale)
	return &b, &sc
}

// layout returns the x offset and baseline shift of each segment and the
// line's total advance.
func (h scriptText) layout(segs []segment, fnt font.Font) (xs, dys []vg.Length, width vg.Length) {
	base, script := h.faces(fnt)
	xs = make([]vg.Length, len(segs))
	dys = make([]vg.Length, len(segs))
	var x, prevStart, prevW vg.Length
	for i, sg := range segs {
		var w vg.Length
		switch sg.kind {
		case segNormal:
			w = base.Width(sg.s)
		case segSub:
			w = script.Width(sg.s)
			dys[i] = -subDrop * fnt.Size
		case segSup:
			w = script.Width(sg.s)
			dys[i] = supRaise * fnt.Size
		}
		if sg.stacked {
			xs[i] = prevStart
			x = prevStart + max(prevW, w)
		} else {
			xs[i] = x
			prevStart = x
			x += w
		}
		prevW = w
	}
	return xs, dys, x
}

// Cache implements text.Handler.
func (h scriptText) Cache() *font.Cache { return h.Fonts }

// Extents implements text.Handler.
func (h scriptText) Extents(fnt font.Font) font.Extents {
	f := h.Fonts.Lookup(fnt, fnt.Size)
	return f.Extents()
}

// Lines implements text.Handler.
func (h scriptText) Lines(txt string) []string {
	return strings.Split(strings.TrimRight(txt, "\n"), "\n")
}

// Box implements text.Handler.
func (h scriptText) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	segs := parseScripts(txt)
	_, _, width = h.layout(segs, fnt)
	base, script := h.faces(fnt)
	be, se := base.Extents(), script.Extents()
	height, depth = be.Ascent, be.Descent
	for _, sg := range segs {
		switch sg.kind {
		case segSub:
			depth = max(depth, subDrop*fnt.Size+se.Descent)
		case segSup:
			height = max(height, supRaise*fnt.Size+se.Ascent)
		}
	}
	return width, height, depth
}

// Draw implements text.Handler, placing lines like text.Plain does.
func (h scriptText) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	txt = strings.TrimRight(txt, "\n")
	if txt == "" {
		return
	}
	base, script := h.faces(sty.Font)
	c.SetColor(sty.Color)
	if sty.Rotation != 0 {
		c.Push()
		c.Rotate(sty.Rotation)
	}
	sin64, cos64 := math.Sincos(sty.Rotation)
	sin, cos := vg.Length(sin64), vg.Length(cos64)
	pt.X, pt.Y = pt.Y*sin+pt.X*cos, pt.Y*cos-pt.X*sin

	lines := h.Lines(txt)
	pt.Y += sty.Height(txt)*vg.Length(sty.YAlign) - base.Extents().Ascent
	for i, line := range lines {
		segs := parseScripts(line)
		xs, dys, w := h.layout(segs, sty.Font)
		x0 := pt.X + vg.Length(sty.XAlign)*w
		y0 := pt.Y + vg.Length(len(lines)-i)*sty.Font.Size
		for k, sg := range segs {
			face := base
			if sg.kind != segNormal {
				face = script
			}
			// SVG viewers drop leading and trailing blanks of a text
			// element, so draw the trimmed run at the blank's offset.
			body := strings.TrimLeft(sg.s, " ")
			lead := face.Width(sg.s[:len(sg.s)-len(body)])
			if body = strings.TrimRight(body, " "); body != "" {
				c.FillString(*face, vg.Point{X: x0 + xs[k] + lead, Y: y0 + dys[k]}, body)
			}
		}
	}
	if sty.Rotation != 0 {
		c.Pop()
	}
}
