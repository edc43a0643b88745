// Package report assembles the results of a trained model on a test set into
// a directory a reader can open: the reference results table (results.md,
// results.csv), the calibration summary (calibration.md, calibration.csv),
// every figure (PNG, and SVG where it stays small) and an index.html that
// shows them all with captions. The page opens from disk: relative links only,
// inline CSS, no scripts and nothing fetched from the network.
//
// Build samples the posteriors itself; FromPosterior starts from posteriors
// already drawn (for example by a notebook that also saved them). Both return
// a *Report whose fields hold the numbers and the figures, so a notebook can
// show any part of it, and Write renders everything into a directory:
//
//	est, _ := npe.Load("models/delve-seed-joint", "")
//	ds, _ := dataset.Open("test.fits")
//	rep, err := report.Build(est, ds, report.Options{Samples: 1000, Model: "models/delve-seed-joint", Data: "test.fits"})
//	...
//	err = rep.Write("report", false)
//
// Write renders into a hidden temporary directory beside the target and moves
// the finished files into place at the end, so a failed run leaves nothing
// half-written. It refuses to touch a non-empty directory unless force is set;
// with force, files of an earlier report are replaced and files it does not
// recognise as report files are left alone.
//
// Calibration criteria. A parameter is reported as calibrated when both SBC
// uniformity tests of its ranks (chi-square of the rank histogram and
// Kolmogorov-Smirnov of the normalised ranks) have p > 0.01 and the empirical
// coverage of its central credible intervals stays within 5 percentage points
// of nominal at every level 0.05 ... 0.95. Every parameter that fails gets a
// plain sentence saying which test failed and how the posterior is off
// (diagnostics.Calibration.Miscalibrated); for joint models the TARP test of
// the joint posterior is reported the same way.
package report
