package npe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/lenssbi/lenssbi/pkg/diagnostics"
	"github.com/lenssbi/lenssbi/pkg/mlbackend"
)

// Estimator is a trained model ready for inference. It is safe for
// concurrent use (calls are serialised).
type Estimator struct {
	card      *Card
	dir       string
	backend   compute.Backend
	store     *model.Store
	sampleExe *model.Exec
	views     []int // symmetry indices of the views (views.go)
	mu        sync.Mutex
}

// Load reads the model in dir (model.json and weights.bin) for inference on
// the given backend spec ("" = default).
func Load(dir, backend string) (*Estimator, error) {
	card, err := ReadCard(dir)
	if err != nil {
		return nil, err
	}
	b, err := mlbackend.New(backend)
	if err != nil {
		return nil, err
	}
	e := &Estimator{card: card, dir: dir, backend: b, store: model.NewStore()}
	if e.views, err = viewSymmetries(card.Views, card.NY, card.NX); err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	if err := loadWeights(e.store, filepath.Join(dir, weightsFile), true); err != nil {
		return nil, fmt.Errorf("loading model %s: %w", dir, err)
	}
	// Inference must not create variables: a missing one means the weights
	// do not match the configuration.
	cfg := card.Config
	e.sampleExe, err = model.NewExec(b, e.store, func(scope *model.Scope, images, noise *graph.Node) *graph.Node {
		return cfg.sampleGraph(scope, images, noise)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Card returns the model's card.
func (e *Estimator) Card() *Card { return e.card }

// Posterior holds posterior samples and summaries for a set of lenses.
type Posterior struct {
	Names []string
	Units []string
	// N lenses, S samples per lens, D parameters.
	N, S, D int
	// Samples are in physical units, [N][S][D].
	Samples []float32
	// Summaries are per lens and parameter, [N][D].
	Summaries [][]diagnostics.Summary
	// Views is the number of views of each image the samples were drawn
	// from (Estimator.SetViews).
	Views int
}

// Sample returns sample s of lens i, parameter d.
func (p *Posterior) Sample(i, s, d int) float32 { return p.Samples[(i*p.S+s)*p.D+d] }

// PosteriorOptions control sampling.
type PosteriorOptions struct {
	Samples   int    // per lens (default 1000)
	Seed      uint64 // noise seed; lens i's noise depends on (Seed, first+i) only
	First     int    // global index of the first lens (for reproducible chunking)
	ChunkSize int    // lenses per graph call (default 125 / views)
}

// Posterior draws samples for n raw cutouts: images holds n lenses, each
// band-major [band][y][x] in the units the model was trained on (e-/s for
// lenssbi datasets) with the model's bands and size. The model's image
// preparation is applied.
func (e *Estimator) Posterior(images []float32, n int, opt PosteriorOptions) (*Posterior, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.card
	nb := len(c.Bands)
	per := nb * c.NX * c.NY
	if n <= 0 || len(images) != n*per {
		return nil, fmt.Errorf("npe: %d values for %d lenses of %d bands x %dx%d (model %s)", len(images), n, nb, c.NX, c.NY, e.dir)
	}
	if opt.Samples <= 0 {
		opt.Samples = 1000
	}
	if opt.ChunkSize <= 0 {
		opt.ChunkSize = max(1, 125/len(e.views))
	}
	D := c.Transform.Dim()
	post := &Posterior{Names: c.Transform.Names(), N: n, S: opt.Samples, D: D, Views: len(e.views),
		Samples: make([]float32, n*opt.Samples*D), Summaries: make([][]diagnostics.Summary, n)}
	for _, p := range c.Transform.Params {
		post.Units = append(post.Units, p.Unit)
	}
	nChunks := (n + opt.ChunkSize - 1) / opt.ChunkSize
	errs := make([]error, nChunks)
	// Chunks run concurrently, one graph call per core: the Go backend runs
	// most operations on one core (GoConfig), so two calls in flight keep
	// both cores busy. A lens's samples depend on its own images and noise
	// only, so the result does not depend on the order chunks finish in.
	parallelFor(0, nChunks, func(ci int) {
		errs[ci] = e.sampleChunk(post, images, ci*opt.ChunkSize, min(opt.ChunkSize, n-ci*opt.ChunkSize), opt)
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return post, nil
}

// sampleChunk prepares lenses start..start+m-1, samples them in one graph
// call and fills their rows of post.
func (e *Estimator) sampleChunk(post *Posterior, images []float32, start, m int, opt PosteriorOptions) error {
	c := e.card
	nb := len(c.Bands)
	per := nb * c.NX * c.NY
	S, D := post.S, post.D
	// With V views, image row v*m+i of the graph call is view v of lens i
	// and draws lens i's samples v*Sv .. (v+1)*Sv-1.
	V := len(e.views)
	Sv := (S + V - 1) / V
	// Preparation and noise, lens by lens in parallel: each lens's
	// values depend on that lens alone.
	prepared := make([]float32, V*m*per)
	noise := make([]float32, V*m*Sv*D)
	errs := make([]error, m)
	parallelFor(0, m, func(i int) {
		img := prepared[i*per : (i+1)*per : (i+1)*per]
		if _, errs[i] = c.Prep.Apply(images[(start+i)*per:(start+i+1)*per], c.NX, c.NY, img); errs[i] != nil {
			return
		}
		for v := 1; v < V; v++ {
			symmetry(prepared[(v*m+i)*per:(v*m+i+1)*per], img, c.NY, c.NX, nb, e.views[v])
		}
		r := rand.New(rand.NewPCG(opt.Seed, uint64(opt.First+start+i)+0x9e3779b9))
		for s := range V * Sv {
			blk := noise[((s/Sv*m+i)*Sv+s%Sv)*D:][:D]
			for k := range blk {
				blk[k] = float32(c.noiseShift(k) + c.noiseScale(k)*r.NormFloat64())
			}
		}
	})
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("lens %d: %w", opt.First+start+i, err)
		}
	}
	imgT := tensors.FromFlatDataAndDimensions(prepared, V*m, c.NY, c.NX, nb)
	noiseT := tensors.FromFlatDataAndDimensions(noise, V*m, Sv, D)
	out, err := e.sampleExe.Call1(imgT, noiseT)
	if err != nil {
		return fmt.Errorf("sampling: %w", err)
	}
	tensors.MustConstFlatData(out, func(u []float32) {
		parallelFor(0, m, func(i int) {
			buf := make([]float64, S)
			li := start + i
			dst := post.Samples[li*S*D : (li+1)*S*D]
			for k := range dst {
				s := k / D
				v := u[(((s/Sv)*m+i)*Sv+s%Sv)*D+k%D]
				x := c.Transform.Inverse(k%D, float64(v))
				if math.IsNaN(x) || math.IsInf(x, 0) {
					x = math.NaN()
				}
				dst[k] = float32(x)
			}
			post.Summaries[li] = make([]diagnostics.Summary, D)
			for d := 0; d < D; d++ {
				for s := 0; s < S; s++ {
					buf[s] = float64(dst[s*D+d])
				}
				post.Summaries[li][d] = diagnostics.Summarize(buf)
			}
		})
	})
	out.FinalizeAll()
	imgT.FinalizeAll()
	noiseT.FinalizeAll()
	return nil
}
