package npe

import (
	"errors"
	"fmt"
	"math"

	"github.com/lenssbi/lenssbi/pkg/diagnostics"
)

// NoiseCalibration widens (or narrows) a marginal model's posteriors after
// training: each parameter's 1-D flow maps base noise z ~ N(0, 1) monotonically
// to the parameter, so sampling z ~ N(0, Scale[k]^2) instead scales every
// central credible interval by Scale[k] in the flow's base space. Where the
// truths' normal scores (the inverse normal CDF of their ranks among the
// samples) have variance tau^2 across lenses -- tau > 1: intervals too
// narrow -- a scale of tau makes them standard normal again, the condition
// for calibrated intervals at every level. FitNoiseScale measures tau on a
// calibration set that must be distinct from the test set the model is then
// evaluated on. The flow's density is unchanged: only sampling uses it.
type NoiseCalibration struct {
	// Scale is the standard deviation of the base noise per target
	// (Config.Targets order).
	Scale []float64 `json:"scale"`
	// Data, N and Samples describe the calibration set and the samples per
	// lens the scale was fitted with.
	Data    string `json:"data"`
	N       int    `json:"n"`
	Samples int    `json:"samples"`
	// Views is the number of views the posteriors averaged over (Card.Views).
	Views int `json:"views,omitempty"`
}

// Noise-scale limits: a correction beyond them means the model is wrong in
// more than its posterior width, which a scale cannot fix.
const (
	minNoiseScale = 0.5
	maxNoiseScale = 2.0
)

// validate checks the calibration against a model of d targets in mode.
func (nc *NoiseCalibration) validate(mode string, d int) error {
	if nc == nil {
		return nil
	}
	if err := calibratable(mode); err != nil {
		return err
	}
	if len(nc.Scale) != d {
		return fmt.Errorf("noise calibration has %d scales for %d targets", len(nc.Scale), d)
	}
	for k, s := range nc.Scale {
		if !(s >= minNoiseScale && s <= maxNoiseScale) {
			return fmt.Errorf("noise scale %g of target %d outside [%g, %g]", s, k, minNoiseScale, maxNoiseScale)
		}
	}
	return nil
}

// calibratable reports why a model of this mode cannot take a noise
// calibration (nil: it can).
func calibratable(mode string) error {
	if mode != ModeMarginal {
		return fmt.Errorf("noise calibration applies to marginal models (one 1-D flow per parameter), not %s mode", mode)
	}
	return nil
}

// CanCalibrate reports why Calibrate would refuse the model of card c
// before any posterior is drawn (nil: it would not).
func (c *Card) CanCalibrate() error { return calibratable(c.Config.Mode) }

// noiseScale returns the base-noise standard deviation of target k (1
// without a calibration).
func (c *Card) noiseScale(k int) float64 {
	if c.NoiseCalibration == nil {
		return 1
	}
	return c.NoiseCalibration.Scale[k]
}

// FitNoiseScale returns, per parameter, the factor by which the base noise
// of the model that drew post must be scaled for its intervals to be
// calibrated on these lenses: the standard deviation of the truths'
// normal scores (diagnostics.SBC's rank spread, ties broken with seed).
// truth is laid out [lens][parameter]. The calibration set should hold
// thousands of lenses: the scale's relative standard error is about
// 1/sqrt(2 N).
func FitNoiseScale(post *Posterior, truth []float64, seed uint64) ([]float64, error) {
	if post == nil || post.N < 100 {
		return nil, errors.New("npe: noise calibration needs posteriors for at least 100 lenses")
	}
	sbc, err := diagnostics.SBC(post.Samples, post.N, post.S, post.D, truth, diagnostics.SBCOptions{Seed: seed})
	if err != nil {
		return nil, fmt.Errorf("npe: noise calibration: %w", err)
	}
	scale := make([]float64, post.D)
	for k := range scale {
		scale[k] = math.Sqrt(sbc.Params[k].Spread)
	}
	return scale, nil
}

// Calibrate fits the noise scale of the marginal model in dir on post (its
// posteriors, drawn with the model's current calibration, for the lenses
// with the given truths from the dataset named data) and stores the product
// of the current and the fitted scales in dir/model.json (atomically),
// with the number of views post was drawn with as the model's Views. It
// refuses joint models and corrections outside [0.5, 2] (the card is left
// as it was).
func Calibrate(dir string, post *Posterior, truth []float64, data string, seed uint64) (*Card, error) {
	c, err := ReadCard(dir)
	if err != nil {
		return nil, err
	}
	if err := c.CanCalibrate(); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if post.D != len(c.Config.Targets) {
		return nil, fmt.Errorf("%s: posteriors of %d parameters for a model of %d", dir, post.D, len(c.Config.Targets))
	}
	fit, err := FitNoiseScale(post, truth, seed)
	if err != nil {
		return nil, err
	}
	nc := &NoiseCalibration{Scale: make([]float64, len(fit)), Data: data, N: post.N, Samples: post.S, Views: post.Views}
	for k, f := range fit {
		nc.Scale[k] = c.noiseScale(k) * f
	}
	if err := nc.validate(c.Config.Mode, len(c.Config.Targets)); err != nil {
		return nil, fmt.Errorf("%s: %w (fitted factors %v): the model needs retraining, not a wider posterior", dir, err, fit)
	}
	c.NoiseCalibration = nc
	c.Views = post.Views
	if err := writeCard(dir, c); err != nil {
		return nil, err
	}
	return c, nil
}
