package npe

import "sync"

// prefetchSource wraps a Source so that the next batches are read and
// prepared on a goroutine while the caller trains on the current one: on an
// accelerator the host work then overlaps the device's. It is one goroutine
// calling the inner Source in its usual order, so batches are the same as
// without it.
type prefetchSource struct {
	src   Source
	depth int

	ch   chan prefetched
	stop chan struct{}
	wg   sync.WaitGroup
	free chan *Batch
}

type prefetched struct {
	b   *Batch
	err error
}

// newPrefetch returns src read ahead by depth batches.
func newPrefetch(src Source, depth int) *prefetchSource {
	return &prefetchSource{src: src, depth: depth, free: make(chan *Batch, depth+2)}
}

// halt stops the reading goroutine, if any, and drops what it read.
func (p *prefetchSource) halt() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	for r := range p.ch {
		if r.b != nil {
			p.recycle(r.b)
		}
	}
	p.wg.Wait()
	p.stop, p.ch = nil, nil
}

func (p *prefetchSource) recycle(b *Batch) {
	select {
	case p.free <- b:
	default:
	}
}

// start reads batches from the inner source until it reports an error (io.EOF
// at the end of the epoch) or halt is called.
func (p *prefetchSource) start() {
	p.stop = make(chan struct{})
	p.ch = make(chan prefetched, p.depth)
	stop, ch := p.stop, p.ch
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(ch)
		for {
			var b *Batch
			select {
			case b = <-p.free:
			default:
				b = new(Batch)
			}
			err := p.src.Next(b)
			if err != nil {
				b = nil
			}
			select {
			case ch <- prefetched{b, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
}

// Epoch implements Source.
func (p *prefetchSource) Epoch(e int) error {
	p.halt()
	if err := p.src.Epoch(e); err != nil {
		return err
	}
	p.start()
	return nil
}

// Next implements Source: it hands over the read-ahead batch's buffers and
// takes b's for reuse.
func (p *prefetchSource) Next(b *Batch) error {
	if p.ch == nil {
		p.start()
	}
	r, ok := <-p.ch
	if !ok {
		p.halt()
		p.start() // after an error the inner source reports it again
		r = <-p.ch
	}
	if r.err != nil {
		return r.err
	}
	*b, *r.b = *r.b, *b
	p.recycle(r.b)
	return nil
}

// LensesPerEpoch implements Source.
func (p *prefetchSource) LensesPerEpoch() int { return p.src.LensesPerEpoch() }

// Close implements Source.
func (p *prefetchSource) Close() error {
	p.halt()
	return p.src.Close()
}
