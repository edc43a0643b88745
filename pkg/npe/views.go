package npe

import "fmt"

// The symmetrised posterior. A lens cutout centred on the deflector has no
// preferred orientation: its posterior is the same under every symmetry of
// the pixel grid (a rotation by a multiple of 90 degrees, with or without a
// mirror flip; the PSF is round and the population isotropic). A trained
// network holds this only approximately, so a model may average its
// posterior over V views of each image: the mixture
//
//	q_V(theta | x) = (1/V) sum_v q(theta | g_v x)
//
// over V symmetries g_v that form a group (V = 2: the half turn; 4: the
// quarter turns, or the flips and the half turn for non-square images; 8:
// all of them). The mixture of the full group is exactly invariant; each
// view costs one more pass of the embedding network, the flows' cost is
// unchanged (sample s of a lens is drawn from view s / ceil(S/V)).

// viewSymmetries returns the symmetry indices (see symmetry) of v views of
// h x w images: 0 or 1 view is the image itself.
func viewSymmetries(v, h, w int) ([]int, error) {
	square := h == w
	switch {
	case v == 0 || v == 1:
		return []int{0}, nil
	case v == 2:
		return []int{0, 2}, nil
	case v == 4 && square:
		return []int{0, 1, 2, 3}, nil
	case v == 4:
		return []int{0, 2, 4, 6}, nil
	case v == 8 && square:
		return []int{0, 1, 2, 3, 4, 5, 6, 7}, nil
	case v == 8:
		return nil, fmt.Errorf("npe: 8 views need square images, not %dx%d", w, h)
	}
	return nil, fmt.Errorf("npe: %d views: want 1, 2, 4 or 8", v)
}

// SetViews sets the number of views the posterior averages over (1, 2, 4
// or 8; 0 restores the model card's Views). A noise calibration fitted with
// other views still applies but was measured for a slightly different
// posterior.
func (e *Estimator) SetViews(v int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v == 0 {
		v = e.card.Views
	}
	syms, err := viewSymmetries(v, e.card.NY, e.card.NX)
	if err != nil {
		return fmt.Errorf("model %s: %w", e.dir, err)
	}
	e.views = syms
	return nil
}

// Views returns the number of views the posterior averages over.
func (e *Estimator) Views() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.views)
}
