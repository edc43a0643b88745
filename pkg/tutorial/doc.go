// Package tutorial holds the small helpers behind the teaching notebooks in
// tutorials/: scalar fields sampled on a grid with their contour lines
// (marching squares), the critical curves, caustics and cut of a lens model,
// a deflection field ready for gonum's vector-field plotter, false-colour
// images of arrays, and a minimal trainer for the conditional spline flows of
// package flows (fit by maximum likelihood with Adam, evaluate, sample, save,
// load).
//
// The helpers are deliberately plain so that a notebook cell reads like the
// equations in its prose; the simulator and the NPE pipeline do not use them.
package tutorial
