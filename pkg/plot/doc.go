// Package plot draws the project's figures: colour composites of multi-band
// cutouts, contact sheets of simulated or real lenses, and the figures of
// a simulation-based-inference paper, built on gonum.org/v1/plot:
//
//   - Marginals: 1-D marginal posteriors of one lens (histogram, KDE, 68%
//     interval shaded, median, truth);
//   - Corner: the joint posterior of one lens as a corner plot (2-D
//     densities with 68%/95% highest-density contours, truth marked);
//   - Recovery: posterior median against truth over a test set with 68%
//     error bars, the 1:1 line and R^2;
//   - SBCRanks: simulation-based-calibration rank histograms with the band
//     expected for uniform ranks;
//   - Coverage and TARP: empirical against nominal coverage, with the
//     diagonal and a binomial or bootstrap band;
//   - LossCurves: training and validation loss per epoch, optionally with
//     the learning rate.
//
// Each returns a *Figure (a grid of gonum plots with a title and a legend
// row) whose Save writes PNG or SVG by file extension, atomically. All
// figures share one Style: Liberation Sans at 13-15 pt, 2 pt data lines,
// 150 dpi PNGs and the Okabe-Ito colour-blind-safe palette; the default
// sizes (5.5 to 10 inches wide) keep the text readable on a slide. Inputs
// are plain float64 slices; NaN, infinite, empty or mismatched inputs are
// rejected with an error naming the figure, argument and element.
//
// Figure text (titles, labels, legends) accepts TeX-like scripts: "θ_E"
// and "z_{lens}" set subscripts, "10^{−3}" superscripts, a superscript
// followed by a subscript is stacked ("1.29^{+0.06}_{−0.05}"), and a
// backslash makes the next character literal ("MY\_COLUMN"). Greek
// letters are written as Unicode.
//
// Image conventions. Cutouts are float32 slices in row-major order, index
// y*nx + x, with pixel (0,0) at the bottom-left of the sky image (FITS
// order). Go images have row 0 at the top, so every function that turns an
// array into an image.Image flips the y axis: array row 0 becomes the bottom
// row of the picture.
//
// Colour convention for DECam g r i cutouts: red = i, green = r, blue = g.
package plot
