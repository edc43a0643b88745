#!/usr/bin/env python3
"""Write the tiny astropy-made cutouts that cutout_test.go reads (an
independent writer for ReadCutout). Rerun with: python3 make_astropy_fixtures.py

cube.fits:   primary float32 cube, numpy shape (4 bands, 4, 5), BANDS = 'griz',
             pixel (b, y, x) = 100*b + 5*y + x; INVVAR extension = 4 except
             (band g, y 0, x 3) = 0.
band_g.fits, band_r.fits: empty primary with a DECam FILTER card, image in an
             int16 extension scaled with BSCALE = 0.5, BZERO = 10, so that
             pixel (y, x) = 10 + 0.5*(5*y + x) + 100*b; VARIANCE extension
             (float64) = 0.25.
"""
import numpy as np
from astropy.io import fits

ny, nx = 4, 5
base = (5 * np.arange(ny)[:, None] + np.arange(nx)[None, :]).astype(np.float64)

cube = np.stack([base + 100 * b for b in range(4)]).astype(np.float32)
prim = fits.PrimaryHDU(cube)
prim.header["BANDS"] = "griz"
prim.header["OBJECT"] = "astropy cube"
ivar = np.full_like(cube, 4.0)
ivar[0, 0, 3] = 0
fits.HDUList([prim, fits.ImageHDU(ivar, name="INVVAR")]).writeto("cube.fits", overwrite=True)

filters = {"g": "g DECam SDSS c0001 4720.0 1520.0", "r": "r DECam SDSS c0002 6415.0 1480.0"}
for b, band in enumerate("gr"):
    prim = fits.PrimaryHDU()
    prim.header["FILTER"] = filters[band]
    sci = fits.ImageHDU(10 + 0.5 * base + 100 * b, name="SCI")
    sci.scale("int16", bscale=0.5, bzero=10)
    var = fits.ImageHDU(np.full((ny, nx), 0.25), name="VARIANCE")
    fits.HDUList([prim, sci, var]).writeto(f"band_{band}.fits", overwrite=True)
