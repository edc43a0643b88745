package tutorial

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot/plotter"
)

// Grid is a scalar field sampled at the nodes of a regular grid: Values[j*NX+i]
// is the value at (X0 + i*DX, Y0 + j*DY). It implements gonum's
// plotter.GridXYZ, so it can be drawn with plotter.NewHeatMap or
// plotter.NewContour directly.
type Grid struct {
	NX, NY         int
	X0, Y0, DX, DY float64
	Values         []float64
}

// SampleGrid evaluates f at the nx x ny nodes of the grid spanning
// [xmin, xmax] x [ymin, ymax] (end points included). nx and ny must be at
// least 2 and the ranges non-empty.
func SampleGrid(f func(x, y float64) float64, nx, ny int, xmin, xmax, ymin, ymax float64) (*Grid, error) {
	if nx < 2 || ny < 2 {
		return nil, fmt.Errorf("tutorial.SampleGrid: need at least 2x2 nodes, got %dx%d", nx, ny)
	}
	if !(xmax > xmin) || !(ymax > ymin) {
		return nil, fmt.Errorf("tutorial.SampleGrid: empty range [%g, %g] x [%g, %g]", xmin, xmax, ymin, ymax)
	}
	g := &Grid{NX: nx, NY: ny, X0: xmin, Y0: ymin,
		DX: (xmax - xmin) / float64(nx-1), DY: (ymax - ymin) / float64(ny-1),
		Values: make([]float64, nx*ny)}
	for j := range ny {
		y := g.Y(j)
		for i := range nx {
			g.Values[j*nx+i] = f(g.X(i), y)
		}
	}
	return g, nil
}

// Dims returns the number of columns and rows (plotter.GridXYZ).
func (g *Grid) Dims() (c, r int) { return g.NX, g.NY }

// Z returns the value at column c, row r (plotter.GridXYZ).
func (g *Grid) Z(c, r int) float64 { return g.Values[r*g.NX+c] }

// X returns the x coordinate of column c (plotter.GridXYZ).
func (g *Grid) X(c int) float64 { return g.X0 + float64(c)*g.DX }

// Y returns the y coordinate of row r (plotter.GridXYZ).
func (g *Grid) Y(r int) float64 { return g.Y0 + float64(r)*g.DY }

// Contour returns the lines where the field crosses level, as polylines in
// the grid's coordinates, found by marching squares: on every grid cell
// whose corners lie on both sides of level, the crossing points on its edges
// are placed by linear interpolation and joined; a saddle cell (corners
// alternating) is resolved with the mean of its corners. Cells with a
// non-finite corner are skipped. Closed lines end with their first point
// repeated. Lines are returned longest first.
func (g *Grid) Contour(level float64) []plotter.XYs {
	nx, ny := g.NX, g.NY
	if nx < 2 || ny < 2 || len(g.Values) < nx*ny {
		return nil
	}
	// Edge ids: the horizontal edge from node (i, j) to (i+1, j) is 2*(j*nx+i),
	// the vertical edge from (i, j) to (i, j+1) is 2*(j*nx+i)+1.
	pts := map[int]plotter.XY{}
	adj := map[int][]int{}
	above := func(i, j int) bool { return g.Values[j*nx+i] > level }
	cross := func(id int) bool {
		if _, ok := pts[id]; ok {
			return true
		}
		n := id / 2
		i, j := n%nx, n/nx
		i2, j2 := i+1, j
		if id%2 == 1 {
			i2, j2 = i, j+1
		}
		a, b := g.Values[j*nx+i], g.Values[j2*nx+i2]
		if (a > level) == (b > level) {
			return false
		}
		t := (level - a) / (b - a)
		pts[id] = plotter.XY{X: g.X(i) + t*(g.X(i2)-g.X(i)), Y: g.Y(j) + t*(g.Y(j2)-g.Y(j))}
		return true
	}
	link := func(a, b int) {
		adj[a] = append(adj[a], b)
		adj[b] = append(adj[b], a)
	}
	for j := 0; j < ny-1; j++ {
		for i := 0; i < nx-1; i++ {
			v00, v10, v01, v11 := g.Values[j*nx+i], g.Values[j*nx+i+1], g.Values[(j+1)*nx+i], g.Values[(j+1)*nx+i+1]
			if !finite(v00) || !finite(v10) || !finite(v01) || !finite(v11) {
				continue
			}
			bottom, top := 2*(j*nx+i), 2*((j+1)*nx+i)
			left, right := 2*(j*nx+i)+1, 2*(j*nx+i+1)+1
			var ids []int
			for _, e := range [4]int{bottom, right, top, left} { // counter-clockwise
				if cross(e) {
					ids = append(ids, e)
				}
			}
			switch len(ids) {
			case 2:
				link(ids[0], ids[1])
			case 4:
				// Saddle: the corners alternate. When the centre is on the side of
				// the bottom-left and top-right corners, that side connects through
				// the middle and the two other corners are cut off; otherwise the
				// bottom-left and top-right corners are.
				if ((v00+v10+v01+v11)/4 > level) == above(i, j) {
					link(bottom, right)
					link(top, left)
				} else {
					link(bottom, left)
					link(right, top)
				}
			}
		}
	}
	// Walk the chains: start at the ends of open lines, then the closed loops.
	seen := map[int]bool{}
	var lines []plotter.XYs
	walk := func(start int) {
		line := plotter.XYs{pts[start]}
		seen[start] = true
		prev, cur := -1, start
		for {
			next := -1
			for _, n := range adj[cur] {
				if n != prev && !seen[n] {
					next = n
					break
				}
			}
			if next < 0 {
				// Close the loop if cur links back to start.
				for _, n := range adj[cur] {
					if n == start && n != prev && len(line) > 2 {
						line = append(line, pts[start])
						break
					}
				}
				break
			}
			seen[next] = true
			line = append(line, pts[next])
			prev, cur = cur, next
		}
		if len(line) >= 2 {
			lines = append(lines, line)
		}
	}
	ids := sortedKeys(adj)
	for _, id := range ids {
		if !seen[id] && len(adj[id]) == 1 {
			walk(id)
		}
	}
	for _, id := range ids {
		if !seen[id] {
			walk(id)
		}
	}
	sortByLength(lines)
	return lines
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func sortedKeys(m map[int][]int) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sortByLength orders lines by decreasing arc length (stable, so equal
// lengths keep the deterministic walk order).
func sortByLength(lines []plotter.XYs) {
	length := func(l plotter.XYs) float64 {
		s := 0.0
		for k := 1; k < len(l); k++ {
			s += math.Hypot(l[k].X-l[k-1].X, l[k].Y-l[k-1].Y)
		}
		return s
	}
	slices.SortStableFunc(lines, func(a, b plotter.XYs) int { return cmp.Compare(length(b), length(a)) })
}
