package npe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/lenssbi/lenssbi/pkg/prep"
	"github.com/lenssbi/lenssbi/pkg/simulate"
)

// Batch is one batch of training pairs.
type Batch struct {
	N          int // lenses in the batch
	H, W, C, D int
	// Images are prepared cutouts, channel-last [N][H][W][C].
	Images []float32
	// Theta are the targets in flow space [N][D] (see Transform).
	Theta []float32
	// Truth are the targets in physical units [N][D].
	Truth []float64
	// Index are the lenses' global indices.
	Index []int
}

func (b *Batch) reset(h, w, c, d, capacity int) {
	b.N, b.H, b.W, b.C, b.D = 0, h, w, c, d
	b.Images = grow32(b.Images, capacity*h*w*c)[:0]
	b.Theta = grow32(b.Theta, capacity*d)[:0]
	b.Truth = b.Truth[:0]
	b.Index = b.Index[:0]
}

func grow32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, 0, n)
	}
	return s
}

// Source yields training batches epoch by epoch.
type Source interface {
	// Epoch starts epoch e: the order (or the lenses) depend on e and the
	// source's seed only.
	Epoch(e int) error
	// Next fills b with the next batch of exactly BatchSize lenses, or
	// returns io.EOF at the end of the epoch (a final partial batch is
	// dropped: fixed shapes avoid recompiling the graph).
	Next(b *Batch) error
	// LensesPerEpoch is the number of lenses an epoch delivers.
	LensesPerEpoch() int
	// Close releases resources.
	Close() error
}

// Lenses is stored lens data a FITSSource reads: images in [lens][band][y][x]
// order and one parameter column per name. *dataset.Dataset (a FITS
// dataset) implements it; npe itself knows nothing of FITS.
type Lenses interface {
	Len() int
	Geometry() (nx, ny int, bands []string)
	Column(name string) ([]float64, error)
	ReadImages(start, n int, buf []float32) ([]float32, error)
}

// FITSSource streams batches from stored lenses (a FITS dataset) with bounded memory: each
// epoch visits the dataset in chunks of Window consecutive lenses, in an
// order shuffled by (seed, epoch), and shuffles lenses within each chunk.
type FITSSource struct {
	ds        Lenses
	path      string
	prep      prep.Config
	tr        Transform
	batch     int
	window    int
	seed      uint64
	rows      []int // subset of dataset rows used (e.g. the training split)
	truth     [][]float64
	nx, ny    int
	order     []int
	spans     [][2]int // per position in order: the rows read with it
	pos       int
	chunk     []float32
	chunkRows []int
	chunkPos  int
}

// NewFITSSource opens batches over rows of ds (nil: all rows). Rows should
// be sorted for efficient chunked reading.
func NewFITSSource(ds Lenses, path string, rows []int, p prep.Config, tr Transform, batch, window int, seed uint64) (*FITSSource, error) {
	nx, ny, bands := ds.Geometry()
	if err := p.CheckBands(bands, path); err != nil {
		return nil, err
	}
	if batch <= 0 || window < batch {
		return nil, fmt.Errorf("npe: batch %d / window %d invalid", batch, window)
	}
	if rows == nil {
		rows = make([]int, ds.Len())
		for i := range rows {
			rows[i] = i
		}
	}
	if len(rows) < batch {
		return nil, fmt.Errorf("%s: %d lenses, fewer than one batch of %d", path, len(rows), batch)
	}
	s := &FITSSource{ds: ds, path: path, prep: p, tr: tr, batch: batch, window: window, seed: seed, rows: rows, nx: nx, ny: ny}
	for _, name := range tr.Names() {
		col, err := ds.Column(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		s.truth = append(s.truth, col)
	}
	return s, nil
}

// LensesPerEpoch implements Source.
func (s *FITSSource) LensesPerEpoch() int { return len(s.rows) / s.batch * s.batch }

// Close implements Source (the dataset stays open; its owner closes it).
func (s *FITSSource) Close() error { return nil }

// Epoch implements Source.
func (s *FITSSource) Epoch(e int) error {
	r := rand.New(rand.NewPCG(s.seed, uint64(e)+0x6570))
	nchunks := (len(s.rows) + s.window - 1) / s.window
	chunks := r.Perm(nchunks)
	s.order = s.order[:0]
	s.spans = s.spans[:0]
	for _, c := range chunks {
		lo, hi := c*s.window, min((c+1)*s.window, len(s.rows))
		seg := make([]int, hi-lo)
		copy(seg, s.rows[lo:hi])
		r.Shuffle(len(seg), func(i, j int) { seg[i], seg[j] = seg[j], seg[i] })
		// The chunk's rows are a contiguous run of the sorted subset: one
		// read of [first, last] serves all of them.
		first, last := s.rows[lo], s.rows[lo]
		for _, row := range s.rows[lo:hi] {
			first, last = min(first, row), max(last, row)
		}
		for range seg {
			s.spans = append(s.spans, [2]int{first, last + 1})
		}
		s.order = append(s.order, seg...)
	}
	s.pos = 0
	s.chunkRows = nil
	return nil
}

// Next implements Source. The lenses of a batch are prepared in parallel
// (each independently, so the batch does not depend on the number of
// goroutines); reading stays sequential.
func (s *FITSSource) Next(b *Batch) error {
	if s.order == nil {
		if err := s.Epoch(0); err != nil {
			return err
		}
	}
	if s.pos+s.batch > len(s.order) {
		return io.EOF
	}
	nb := len(s.prep.Bands)
	per := nb * s.nx * s.ny
	b.reset(s.ny, s.nx, nb, s.tr.Dim(), s.batch)
	b.Images = b.Images[:s.batch*per]
	imgs := make([][]float32, s.batch)
	errs := make([]error, s.batch)
	for k0 := 0; k0 < s.batch; {
		// Lenses k0..k1-1 share the chunk in memory.
		k1 := k0
		for ; k1 < s.batch; k1++ {
			if k1 > k0 && s.spans[s.pos+k1] != s.spans[s.pos+k0] {
				break
			}
			img, err := s.image(s.order[s.pos+k1], s.spans[s.pos+k1], per)
			if err != nil {
				return err
			}
			imgs[k1] = img
		}
		parallelFor(k0, k1, func(k int) {
			dst := b.Images[k*per : (k+1)*per : (k+1)*per]
			_, errs[k] = s.prep.Apply(imgs[k], s.nx, s.ny, dst)
		})
		for k := k0; k < k1; k++ {
			if errs[k] != nil {
				return fmt.Errorf("%s lens %d: %w", s.path, s.order[s.pos+k], errs[k])
			}
		}
		k0 = k1
	}
	for k := 0; k < s.batch; k++ {
		row := s.order[s.pos+k]
		for d := range s.tr.Params {
			v := s.truth[d][row]
			b.Truth = append(b.Truth, v)
			b.Theta = append(b.Theta, float32(s.tr.Forward(d, v)))
		}
		b.Index = append(b.Index, row)
		b.N++
	}
	s.pos += s.batch
	return nil
}

// parallelFor runs fn(k) for k in [lo, hi) on up to GOMAXPROCS goroutines.
func parallelFor(lo, hi int, fn func(k int)) {
	workers := min(runtime.GOMAXPROCS(0), hi-lo)
	if workers <= 1 {
		for k := lo; k < hi; k++ {
			fn(k)
		}
		return
	}
	var next atomic.Int64
	next.Store(int64(lo))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= hi {
					return
				}
				fn(k)
			}
		}()
	}
	wg.Wait()
}

// image returns lens row's cutout, reading the chunk span that holds it
// when it is not the one in memory.
func (s *FITSSource) image(row int, span [2]int, per int) ([]float32, error) {
	if s.chunkRows == nil || s.chunkRows[0] != span[0] || s.chunkRows[1] != span[1] {
		var err error
		s.chunk, err = s.ds.ReadImages(span[0], span[1]-span[0], s.chunk)
		if err != nil {
			return nil, err
		}
		s.chunkRows = []int{span[0], span[1]}
	}
	off := (row - s.chunkRows[0]) * per
	return s.chunk[off : off+per], nil
}

// SimSource simulates fresh lenses for every epoch: epoch e uses lens
// indices [Offset + e*N, Offset + (e+1)*N) of the simulator's seed, so no
// lens is ever shown twice and runs reproduce. Simulation runs ahead on all
// cores while the caller trains.
type SimSource struct {
	sim    *simulate.Simulator
	prep   prep.Config
	tr     Transform
	cols   []int
	batch  int
	n      int
	offset int

	cancel context.CancelFunc
	ch     chan *Batch
	errc   chan error
	wg     sync.WaitGroup
	pool   sync.Pool
}

// NewSimSource makes a source of n lenses per epoch.
func NewSimSource(sim *simulate.Simulator, p prep.Config, tr Transform, batch, n, offset int) (*SimSource, error) {
	if err := p.CheckBands(sim.Bands(), "simulator"); err != nil {
		return nil, err
	}
	if batch <= 0 || n < batch {
		return nil, fmt.Errorf("npe: batch %d with %d lenses per epoch", batch, n)
	}
	s := &SimSource{sim: sim, prep: p, tr: tr, batch: batch, n: n / batch * batch, offset: offset}
	for _, name := range tr.Names() {
		i := sim.ColumnIndex(name)
		if i < 0 {
			return nil, fmt.Errorf("npe: simulator has no column %s", name)
		}
		s.cols = append(s.cols, i)
	}
	return s, nil
}

// LensesPerEpoch implements Source.
func (s *SimSource) LensesPerEpoch() int { return s.n }

// Epoch implements Source: it starts simulating epoch e in the background.
func (s *SimSource) Epoch(e int) error {
	s.stop()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.ch = make(chan *Batch, 4)
	s.errc = make(chan error, 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.ch)
		cfg := s.sim.Config()
		nb := len(s.prep.Bands)
		per := nb * cfg.Size * cfg.Size
		var cur *Batch
		// The simulator hands lenses over in order on one goroutine; their
		// raw images are collected here and a full batch is prepared in
		// parallel (each lens independently, as FITSSource does), so image
		// preparation does not cap the rate at one core's.
		raw := make([]float32, 0, s.batch*per)
		errs := make([]error, s.batch)
		err := s.sim.Run(ctx, s.offset+e*s.n, s.n, 0, func(l *simulate.Lens) error {
			if cur == nil {
				cur = s.newBatch()
				cur.reset(cfg.Size, cfg.Size, nb, s.tr.Dim(), s.batch)
				raw = raw[:0]
			}
			raw = append(raw, l.Images...)
			for d, c := range s.cols {
				v := l.Params[c]
				cur.Truth = append(cur.Truth, v)
				cur.Theta = append(cur.Theta, float32(s.tr.Forward(d, v)))
			}
			cur.Index = append(cur.Index, l.Index)
			cur.N++
			if cur.N < s.batch {
				return nil
			}
			cur.Images = cur.Images[:s.batch*per] // reset gave it the capacity
			parallelFor(0, s.batch, func(k int) {
				dst := cur.Images[k*per : (k+1)*per : (k+1)*per]
				_, errs[k] = s.prep.Apply(raw[k*per:(k+1)*per], cfg.Size, cfg.Size, dst)
			})
			for k, err := range errs {
				if err != nil {
					return fmt.Errorf("lens %d: %w", cur.Index[k], err)
				}
			}
			select {
			case s.ch <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			cur = nil
			return nil
		}, nil)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.errc <- err
		}
	}()
	return nil
}

func (s *SimSource) newBatch() *Batch {
	if b, ok := s.pool.Get().(*Batch); ok {
		return b
	}
	return &Batch{}
}

// Next implements Source.
func (s *SimSource) Next(b *Batch) error {
	if s.ch == nil {
		if err := s.Epoch(0); err != nil {
			return err
		}
	}
	nb, ok := <-s.ch
	if !ok {
		select {
		case err := <-s.errc:
			return err
		default:
			return io.EOF
		}
	}
	*b, *nb = *nb, *b
	s.pool.Put(nb)
	return nil
}

func (s *SimSource) stop() {
	if s.cancel != nil {
		s.cancel()
		for range s.ch {
		}
		s.wg.Wait()
		s.cancel = nil
	}
}

// Close implements Source.
func (s *SimSource) Close() error {
	s.stop()
	return nil
}
