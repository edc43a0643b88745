package npe

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/lenssbi/lenssbi/pkg/diagnostics"
)

// NoiseCalibration widens (or narrows) and re-centres a marginal model's
// posteriors after training: each parameter's 1-D flow maps base noise
// z ~ N(0, 1) monotonically to the parameter, so sampling
// z ~ N(Shift[k], Scale[k]^2) instead scales every central credible interval
// by Scale[k] in the flow's base space and moves it by Shift[k]. The truth's
// normal score (the inverse normal CDF of its rank among the samples) is
// exactly its base-space coordinate, standardised by the sampling noise, so
// where the truths' normal scores have mean mu and variance tau^2 across
// lenses -- tau > 1: intervals too narrow; mu > 0: posteriors below the
// truths -- shifting by mu and scaling by tau makes them standard normal
// again, the condition for calibrated intervals at every level. FitNoise
// measures mu and tau on a calibration set that must be distinct from the
// test set the model is then evaluated on. The flow's density is unchanged:
// only sampling uses it.
type NoiseCalibration struct {
	// Scale is the standard deviation of the base noise per target
	// (Config.Targets order).
	Scale []float64 `json:"scale"`
	// Shift is the mean of the base noise per target, in the base space's
	// units (absent in cards written before it existed: 0).
	Shift []float64 `json:"shift,omitempty"`
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
	maxNoiseShift = 1.0
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
	if len(nc.Shift) != 0 && len(nc.Shift) != d {
		return fmt.Errorf("noise calibration has %d shifts for %d targets", len(nc.Shift), d)
	}
	for k, m := range nc.Shift {
		if !(math.Abs(m) <= maxNoiseShift) {
			return fmt.Errorf("noise shift %g of target %d outside [-%g, %g]", m, k, maxNoiseShift, maxNoiseShift)
		}
	}
	return nil
}

// Text lists the calibration per target, in targets' order: the base-noise
// scales ("THETA_E 0.950, Z_LENS 0.893") and, where the base noise is
// shifted, the shift ("THETA_E 0.950 (shift +0.012)").
func (nc *NoiseCalibration) Text(targets []string) string {
	parts := make([]string, len(nc.Scale))
	for k, s := range nc.Scale {
		name := fmt.Sprint(k)
		if k < len(targets) {
			name = targets[k]
		}
		parts[k] = fmt.Sprintf("%s %.3f", name, s)
		if k < len(nc.Shift) && nc.Shift[k] != 0 {
			parts[k] += fmt.Sprintf(" (shift %+.3f)", nc.Shift[k])
		}
	}
	return strings.Join(parts, ", ")
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

// noiseShift returns the base-noise mean of target k (0 without a
// calibration or a shift).
func (c *Card) noiseShift(k int) float64 {
	if c.NoiseCalibration == nil || len(c.NoiseCalibration.Shift) == 0 {
		return 0
	}
	return c.NoiseCalibration.Shift[k]
}

// FitNoise returns, per parameter, the factor by which the base noise of
// the model that drew post must be scaled, and the shift of its mean in
// units of the noise it was drawn with, for its intervals to be calibrated
// on these lenses: the standard deviation and the mean of the truths'
// normal scores (diagnostics.SBC's Spread and ScoreMean, ties broken with
// seed). truth is laid out [lens][parameter]. The calibration set should
// hold thousands of lenses: the scale's relative standard error is about
// 1/sqrt(2 N), the shift's standard error 1/sqrt(N).
func FitNoise(post *Posterior, truth []float64, seed uint64) (scale, shift []float64, err error) {
	if post == nil || post.N < 100 {
		return nil, nil, errors.New("npe: noise calibration needs posteriors for at least 100 lenses")
	}
	sbc, err := diagnostics.SBC(post.Samples, post.N, post.S, post.D, truth, diagnostics.SBCOptions{Seed: seed})
	if err != nil {
		return nil, nil, fmt.Errorf("npe: noise calibration: %w", err)
	}
	scale, shift = make([]float64, post.D), make([]float64, post.D)
	for k := range scale {
		scale[k] = math.Sqrt(sbc.Params[k].Spread)
		shift[k] = sbc.Params[k].ScoreMean
	}
	return scale, shift, nil
}

// Calibrate fits the noise scale and shift of the marginal model in dir on
// post (its posteriors, drawn with the model's current calibration, for the
// lenses with the given truths from the dataset named data) and stores the
// composed calibration in dir/model.json (atomically): the base noise
// mu0 + s0 z becomes (mu0 + s0 shift) + (s0 scale) z. The number of views
// post was drawn with becomes the model's Views. It refuses joint models,
// scales outside [0.5, 2] and shifts beyond 1 (the card is left as it was).
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
	fit, shift, err := FitNoise(post, truth, seed)
	if err != nil {
		return nil, err
	}
	nc := &NoiseCalibration{Scale: make([]float64, len(fit)), Shift: make([]float64, len(fit)), Data: data, N: post.N, Samples: post.S, Views: post.Views}
	for k, f := range fit {
		nc.Shift[k] = c.noiseShift(k) + c.noiseScale(k)*shift[k]
		nc.Scale[k] = c.noiseScale(k) * f
	}
	if err := nc.validate(c.Config.Mode, len(c.Config.Targets)); err != nil {
		return nil, fmt.Errorf("%s: %w (fitted factors %v, shifts %v): the model needs retraining, not a wider or shifted posterior", dir, err, fit, shift)
	}
	c.NoiseCalibration = nc
	c.Views = post.Views
	if err := writeCard(dir, c); err != nil {
		return nil, err
	}
	return c, nil
}
