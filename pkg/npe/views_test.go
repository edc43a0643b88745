package npe

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lenssbi/lenssbi/pkg/dataset"
)

// TestViews: sample s of a lens's V-view posterior is sample s of the
// one-view posterior of the view it was drawn from (view s / (S/V) of the
// image, same noise); every view count of a square model is accepted and
// others are refused with the model named.
func TestViews(t *testing.T) {
	withTimeout(t, 5*time.Minute, func() {
		f := newFixture(t, ModeMarginal)
		f.card.Config.Epochs = 1
		dir := filepath.Join(t.TempDir(), "m")
		if _, err := Train(context.Background(), dir, f.card, f.trainSrc, f.valSrc, TrainOptions{}); err != nil {
			t.Fatal(err)
		}
		est, err := Load(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		ds, _ := dataset.Open(f.card.Data.Train)
		defer ds.Close()
		const n = 3
		imgs, _ := ds.ReadImages(0, n, nil)
		nb, h, w := len(f.card.Bands), f.card.NY, f.card.NX
		for _, V := range []int{2, 4, 8} {
			if err := est.SetViews(V); err != nil {
				t.Fatal(err)
			}
			syms := est.views
			S := 2 * V
			pv, err := est.Posterior(imgs, n, PosteriorOptions{Samples: S, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			if err := est.SetViews(1); err != nil {
				t.Fatal(err)
			}
			for v, sym := range syms {
				// View v of the raw (band-major) images.
				view := make([]float32, len(imgs))
				for i := 0; i < n*nb; i++ {
					symmetry(view[i*h*w:(i+1)*h*w], imgs[i*h*w:(i+1)*h*w], h, w, 1, sym)
				}
				p1, err := est.Posterior(view, n, PosteriorOptions{Samples: S, Seed: 9})
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < n; i++ {
					for s := v * 2; s < v*2+2; s++ {
						for d := 0; d < p1.D; d++ {
							a, b := pv.Sample(i, s, d), p1.Sample(i, s, d)
							if math.Abs(float64(a-b)) > 1e-4*math.Max(1, math.Abs(float64(b))) {
								t.Fatalf("%d views: lens %d sample %d param %d: %g, one-view posterior of view %d: %g", V, i, s, d, a, v, b)
							}
						}
					}
				}
			}
		}
		if err := est.SetViews(3); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("3 views: %v", err)
		}
		if est.Views() != 1 {
			t.Errorf("a refused view count changed the views to %d", est.Views())
		}
		if _, err := viewSymmetries(8, 32, 48); err == nil {
			t.Error("8 views of non-square images accepted")
		}
		if s, err := viewSymmetries(4, 32, 48); err != nil || s[1] != 2 || s[2] != 4 {
			t.Errorf("4 views of non-square images: %v %v", s, err)
		}
	})
}
