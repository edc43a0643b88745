// Package npe trains and applies neural posterior estimators for strong-lens
// parameters: prepared cutouts (package prep) go through an Inception
// embedding (package nn) into neural spline flows (package flows) that model
// q(theta | image) for the Einstein radius, lens redshift, velocity dispersion
// and source redshift -- one flow per parameter (the reference setup) or one
// joint flow.
//
// This file set grows with issue 3; today it holds the parameter transforms
// and the training-data sources.
package npe
