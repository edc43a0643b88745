package simulate

// OutputVersion numbers the simulator's output: the lenses (which candidates
// pass the cuts, and their parameters) and the pixels (images and variance)
// written for a given preset, configuration and seed. Any change that alters
// the lenses or pixels written for a given preset and seed (physics,
// population, random draws, rendering, noise, cuts, defaults) must bump it,
// so that the header of a dataset says which build can regenerate it exactly.
// Changes that leave the output the same (speed-ups, refactors) keep it.
// TestOutputGolden compares a fixed sample with testdata/output-v<N>.csv and
// fails until a changed output comes with a bumped version and a new golden
// file.
//
// lenssbi simulate writes it to the primary header of every file as SIMVER.
// Files written before the key existed (before 2026-11-27) have no SIMVER;
// those written before the point-mode caustic fix of 2026-11-26 (commit
// 24abd38) differ from version 1 in about 0.1 % of the lenses and 5 % of the
// images for the same seed.
//
// Version 1 is the output of the build that introduced the key, which
// includes the point-mode caustic fix (an image-plane render where the dense
// quadrature saw a caustic).
const OutputVersion = 1
