package main

import (
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/lenssbi/lenssbi/pkg/dataset"
	"github.com/lenssbi/lenssbi/pkg/plot"
)

func runRender(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("render", "render FILE --out grid.png [flags]", stderr)
	out := fs.String("out", "", "output PNG")
	n := fs.Int("n", 24, "number of lenses to draw")
	first := fs.Int("first", 0, "index of the first lens")
	cols := fs.Int("cols", 8, "tiles per row")
	tile := fs.Int("tile", 160, "tile size in pixels")
	force := fs.Bool("force", false, "overwrite an existing PNG")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("need exactly one FILE, got %d arguments", len(pos))
	case *out == "":
		return usagef("--out is required")
	case *n <= 0 || *cols <= 0 || *tile <= 0 || *first < 0:
		return usagef("--n, --cols and --tile must be > 0 and --first >= 0")
	}
	if _, err := os.Stat(*out); err == nil && !*force {
		return fmt.Errorf("%s exists; use --force to overwrite it", *out)
	}
	ds, err := dataset.Open(pos[0])
	if err != nil {
		return err
	}
	defer ds.Close()
	m := ds.Meta()
	bi := make([]int, 3)
	for k, b := range []string{"i", "r", "g"} {
		if bi[k] = slices.Index(m.Bands, b); bi[k] < 0 {
			return fmt.Errorf("%s: colour composites need bands g, r and i; the dataset has %v", pos[0], m.Bands)
		}
	}
	if *first >= ds.Len() {
		return usagef("--first %d is beyond the %d lenses of %s", *first, ds.Len(), pos[0])
	}
	cnt := min(*n, ds.Len()-*first)
	imgs, err := ds.ReadImages(*first, cnt, nil)
	if err != nil {
		return err
	}
	cols3 := map[string][]float64{}
	for _, c := range []string{"THETA_E", "Z_LENS", "Z_SOURCE"} {
		v, err := ds.Column(c)
		if err != nil {
			return err
		}
		cols3[c] = v
	}
	npix := m.NX * m.NY
	per := len(m.Bands) * npix
	cut := make([][3][]float32, cnt)
	for k := range cut {
		base := imgs[k*per : (k+1)*per]
		for c := 0; c < 3; c++ {
			cut[k][c] = base[bi[c]*npix : (bi[c]+1)*npix]
		}
	}
	opt, err := plot.AutoLupton(plot.DefaultLupton(), cut...)
	if err != nil {
		return err
	}
	tiles := make([]plot.Tile, cnt)
	for k := range tiles {
		img, err := plot.Composite(cut[k][0], cut[k][1], cut[k][2], m.NX, m.NY, opt)
		if err != nil {
			return fmt.Errorf("lens %d: %w", *first+k, err)
		}
		j := *first + k
		tiles[k] = plot.Tile{Image: img, Lines: []string{
			fmt.Sprintf("θE=%.2f\"", cols3["THETA_E"][j]),
			fmt.Sprintf("zl=%.2f zs=%.2f", cols3["Z_LENS"][j], cols3["Z_SOURCE"][j]),
		}}
	}
	title := fmt.Sprintf("%s: lenses %d-%d, %s preset, g r i (Lupton Q=%.0f)", pos[0], *first, *first+cnt-1, m.Preset, opt.Q)
	sheet, err := plot.ContactSheet(tiles, *cols, *tile, title)
	if err != nil {
		return err
	}
	if err := plot.SavePNG(*out, sheet); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d lenses)\n", *out, cnt)
	return nil
}
