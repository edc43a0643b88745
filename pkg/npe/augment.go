package npe

import (
	"fmt"
	"math/rand/v2"
)

// Augmentations accepted by Config.Augment.
const (
	// AugmentNone trains on the images as they are.
	AugmentNone = ""
	// AugmentD4 shows every training image under one of the 8 symmetries of
	// the square pixel grid (rotations by multiples of 90 degrees, with or
	// without a mirror flip), drawn per lens and per epoch from the run's
	// seed. The targets (theta_E, redshifts, sigma_v) do not change under
	// these maps, and a cutout centred on the deflector maps onto itself
	// pixel for pixel, so the network sees 8 times as many distinct images
	// of the same lenses. Non-square images use the 4 symmetries that keep
	// their shape (identity, the two flips and the half turn).
	AugmentD4 = "d4"
)

// validAugment reports whether a is a known augmentation.
func validAugment(a string) error {
	if a != AugmentNone && a != AugmentD4 {
		return fmt.Errorf("npe: unknown augmentation %q (want %q or %q)", a, AugmentD4, "none")
	}
	return nil
}

// augmenter applies Config.Augment to training batches.
type augmenter struct {
	kind string
	seed uint64
	tmp  []float32
}

// apply transforms the images of b in place. The symmetry of lens k of the
// batch at step follows from (seed, step, k) only, so a resumed run sees the
// same images as an uninterrupted one.
func (a *augmenter) apply(b *Batch, step int64) {
	if a.kind != AugmentD4 {
		return
	}
	per := b.H * b.W * b.C
	r := rand.New(rand.NewPCG(a.seed^0x61756731, uint64(step)))
	nsym := 8
	if b.H != b.W {
		nsym = 4
	}
	if cap(a.tmp) < per {
		a.tmp = make([]float32, per)
	}
	tmp := a.tmp[:per]
	for k := 0; k < b.N; k++ {
		s := r.IntN(nsym)
		if b.H != b.W {
			s = [4]int{0, 2, 4, 6}[s] // identity, half turn, the two flips
		}
		if s == 0 {
			continue
		}
		img := b.Images[k*per : (k+1)*per]
		copy(tmp, img)
		symmetry(img, tmp, b.H, b.W, b.C, s)
	}
}

// symmetry writes into dst the image src ([h][w][c], channel-last) under
// symmetry s of the square: s = 0..3 rotations by s quarter turns (clockwise
// on the y-up pixel grid), s = 4..7 the same after a left-right flip (s = 6
// is the up-down flip). For s other than 0, 2, 4 and 6 the image must be
// square.
func symmetry(dst, src []float32, h, w, c, s int) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sy, sx := y, x
			if s >= 4 {
				sx = w - 1 - sx
			}
			switch s % 4 {
			case 1: // quarter turn: destination (y, x) reads source (x, w-1-y)
				sy, sx = sx, w-1-sy
			case 2:
				sy, sx = h-1-sy, w-1-sx
			case 3:
				sy, sx = h-1-sx, sy
			}
			copy(dst[(y*w+x)*c:(y*w+x+1)*c], src[(sy*w+sx)*c:(sy*w+sx+1)*c])
		}
	}
}
