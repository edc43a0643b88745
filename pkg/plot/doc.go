// Package plot draws the project's figures: colour composites of multi-band
// cutouts, contact sheets of simulated or real lenses, and (later) the
// diagnostic plots built on gonum.org/v1/plot.
//
// Image conventions. Cutouts are float32 slices in row-major order, index
// y*nx + x, with pixel (0,0) at the bottom-left of the sky image (FITS
// order). Go images have row 0 at the top, so every function that turns an
// array into an image.Image flips the y axis: array row 0 becomes the bottom
// row of the picture.
//
// Colour convention for DECam g r i cutouts: red = i, green = r, blue = g.
package plot
