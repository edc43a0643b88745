package simulate

import (
	"context"
	"fmt"
	"runtime"
	"sync"
)

// Progress is called by Run after each lens is delivered, with the number
// delivered so far and the total.
type Progress func(done, total int)

// Run simulates lenses start, start+1, ..., start+n-1 on the given number of
// workers (<= 0: one per CPU) and hands them to emit strictly in index order.
// The *Lens passed to emit is reused after emit returns; copy what you keep.
// The output is identical for any worker count. Run stops at the first error
// from a lens, from emit, or when ctx is cancelled.
func (s *Simulator) Run(ctx context.Context, start, n, workers int, emit func(*Lens) error, progress Progress) error {
	if n < 0 || start < 0 {
		return fmt.Errorf("simulate: invalid range start=%d n=%d", start, n)
	}
	if n == 0 {
		return nil
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > n {
		workers = n
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A bounded window of lenses in flight keeps memory constant: a worker
	// may run at most `window` indices ahead of the next one to emit.
	window := 4 * workers
	free := make(chan *Lens, window)
	for i := 0; i < window; i++ {
		free <- s.NewLens()
	}
	type result struct {
		pos  int
		lens *Lens
		err  error
	}
	jobs := make(chan int)
	results := make(chan result, window)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := s.newWorker()
			for {
				// Hold a buffer before taking a job, so the lens the
				// collector waits for always has one (no deadlock).
				var l *Lens
				select {
				case l = <-free:
				case <-ctx.Done():
					return
				}
				pos, ok := <-jobs
				if !ok {
					return
				}
				err := w.simulate(start+pos, l)
				select {
				case results <- result{pos, l, err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for pos := 0; pos < n; pos++ {
			select {
			case jobs <- pos:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	pending := make(map[int]*Lens, window)
	next := 0
	var firstErr error
	for res := range results {
		if firstErr != nil {
			continue
		}
		if res.err != nil {
			firstErr = res.err
			cancel()
			continue
		}
		pending[res.pos] = res.lens
		for {
			l, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if err := emit(l); err != nil {
				firstErr = err
				cancel()
				break
			}
			free <- l
			next++
			if progress != nil {
				progress(next, n)
			}
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil && next < n {
		return err
	}
	return nil
}
