package npe

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func randImage(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func apply(src []float32, h, w, c, s int) []float32 {
	dst := make([]float32, len(src))
	symmetry(dst, src, h, w, c, s)
	return dst
}

// TestSymmetryGroup: the 8 maps are the dihedral group of the square: all
// distinct, the quarter turn has order 4 and generates the rotations, the
// flips are involutions, every map keeps the pixel values (a permutation of
// whole pixels, bands together) and fixes the centre of an odd cutout.
func TestSymmetryGroup(t *testing.T) {
	const n, c = 7, 3
	r := rand.New(rand.NewPCG(1, 2))
	img := randImage(r, n*n*c)
	var seen [][]float32
	for s := range 8 {
		a := apply(img, n, n, c, s)
		for k, b := range seen {
			if slices.Equal(a, b) {
				t.Errorf("symmetries %d and %d agree", k, s)
			}
		}
		seen = append(seen, a)
		sa, si := slices.Clone(a), slices.Clone(img)
		slices.Sort(sa)
		slices.Sort(si)
		if !slices.Equal(sa, si) {
			t.Errorf("symmetry %d changes the pixel values", s)
		}
		mid := (n/2*n + n/2) * c
		if !slices.Equal(a[mid:mid+c], img[mid:mid+c]) {
			t.Errorf("symmetry %d moves the centre pixel", s)
		}
		// Bands move together: pixel p of a is some pixel of img.
		for p := 0; p < n*n; p++ {
			found := false
			for q := 0; q < n*n && !found; q++ {
				found = slices.Equal(a[p*c:(p+1)*c], img[q*c:(q+1)*c])
			}
			if !found {
				t.Fatalf("symmetry %d: pixel %d mixes bands", s, p)
			}
		}
	}
	x := img
	for range 4 {
		x = apply(x, n, n, c, 1)
	}
	if !slices.Equal(x, img) {
		t.Error("four quarter turns are not the identity")
	}
	if !slices.Equal(apply(apply(img, n, n, c, 1), n, n, c, 1), seen[2]) {
		t.Error("two quarter turns are not the half turn")
	}
	for s := 4; s < 8; s++ {
		if !slices.Equal(apply(apply(img, n, n, c, s), n, n, c, s), img) {
			t.Errorf("flip %d is not an involution", s)
		}
	}
	// Known pixel: the quarter turn is clockwise on the y-up pixel grid,
	// taking the +x axis to -y.
	one := make([]float32, n*n)
	one[3*n+6] = 1 // (y=3, x=6): right edge
	if q := apply(one, n, n, 1, 1); q[0*n+3] != 1 {
		t.Error("quarter turn does not take +x to -y")
	}
	// Non-square images: the four shape-keeping maps are the identity, half
	// turn and the two flips, each an involution.
	img2 := randImage(r, 4*6*2)
	for _, s := range []int{2, 4, 6} {
		b := apply(img2, 4, 6, 2, s)
		if slices.Equal(b, img2) || !slices.Equal(apply(b, 4, 6, 2, s), img2) {
			t.Errorf("non-square map %d is not a non-trivial involution", s)
		}
	}
}

// TestAugmenter: each augmented lens is one of the symmetries of its
// original; the choice depends on the step only (a resumed run sees the
// same images); all 8 maps occur; AugmentNone leaves the batch alone.
func TestAugmenter(t *testing.T) {
	const n, c, nb = 6, 2, 64
	r := rand.New(rand.NewPCG(3, 4))
	orig := randImage(r, nb*n*n*c)
	batch := func() *Batch {
		return &Batch{N: nb, H: n, W: n, C: c, Images: slices.Clone(orig)}
	}
	a := &augmenter{kind: AugmentD4, seed: 9}
	b1, b2, b3 := batch(), batch(), batch()
	a.apply(b1, 17)
	(&augmenter{kind: AugmentD4, seed: 9}).apply(b2, 17)
	a.apply(b3, 18)
	if !slices.Equal(b1.Images, b2.Images) {
		t.Error("same seed and step, different images")
	}
	if slices.Equal(b1.Images, b3.Images) {
		t.Error("another step, same images")
	}
	per := n * n * c
	used := map[int]bool{}
	for k := range nb {
		img := orig[k*per : (k+1)*per]
		got := b1.Images[k*per : (k+1)*per]
		found := -1
		for s := range 8 {
			if slices.Equal(apply(img, n, n, c, s), got) {
				found = s
				break
			}
		}
		if found < 0 {
			t.Fatalf("lens %d is not a symmetry of its image", k)
		}
		used[found] = true
	}
	if len(used) != 8 {
		t.Errorf("only %d of the 8 symmetries in a batch of %d", len(used), nb)
	}
	b4 := batch()
	(&augmenter{kind: AugmentNone, seed: 9}).apply(b4, 17)
	if !slices.Equal(b4.Images, orig) {
		t.Error("AugmentNone changed the images")
	}
}

func TestAugmentValidate(t *testing.T) {
	cfg := DefaultConfig(ModeJoint)
	if cfg.Augment != AugmentD4 {
		t.Errorf("default augmentation %q, want %q", cfg.Augment, AugmentD4)
	}
	cfg.Augment = "mirror"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "mirror") {
		t.Errorf("unknown augmentation: error %v", err)
	}
}

func TestConfigSummary(t *testing.T) {
	c := DefaultConfig(ModeMarginal)
	if got, want := c.Summary(), "Inception embedding (3 blocks, 64-d output); flows of 4 transforms, 32 hidden units, 8 bins; D4 augmentation"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	c.Embedding.Coords, c.Embedding.Readout, c.Augment = "radius", "flatten", AugmentNone
	if got := c.Summary(); !strings.Contains(got, "3 blocks, radius channel, flattened readout, 64-d output") || strings.Contains(got, "D4") {
		t.Errorf("Summary() = %q", got)
	}
}
