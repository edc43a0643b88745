// Package dataset reads and writes lenssbi datasets (simulated lenses as FITS
// files) and reads real multi-band cutouts.
//
// # File format
//
// A dataset is one FITS file, or several "shards" when it holds more lenses
// than WriterOptions.ShardSize (default 5000): "train.fits" becomes
// train-000.fits, train-001.fits, ...; shard k holds lenses
// [k*ShardSize, min((k+1)*ShardSize, NTOTAL)). Every file has four HDUs:
//
//  0. Primary HDU, no data. Provenance keywords: LENSSBI (lenssbi version),
//     CREATOR, DATE (UTC, YYYY-MM-DDThh:mm:ss), PRESET, SEED, H0 (km/s/Mpc),
//     OM0, NLENS (lenses in this file), NTOTAL (in the whole dataset), SHARD,
//     NSHARDS, FIRSTIDX (global index of this file's first lens), NX, NY,
//     NBANDS, BANDS (comma-separated, e.g. 'g,r,i,z'), PIXSCALE (arcsec),
//     SUPERSMP (supersampling factor), SIMVER (simulator output version,
//     only when Meta.SimVersion > 0; absent in files written before
//     2026-11-27), then any Meta.Extra keywords.
//  1. IMAGES: image extension, BITPIX -32 (big-endian float32), NAXIS1 = NX
//     (x), NAXIS2 = NY (y), NAXIS3 = band, NAXIS4 = lens; numpy/astropy see
//     shape (lens, band, NY, NX). BUNIT = 'count/s' (photo-electrons per
//     second: the FITS standard has no "electron" unit, and astropy rejects
//     one), BANDS as above.
//  2. VARIANCE: same shape, BUNIT = 'count2/s2'.
//  3. PARAMS: binary table, one row per lens. Column 1 is INDEX (K, int64,
//     the global lens index = FIRSTIDX + row), then the caller's columns
//     (float64 'D' by default, or 'J'/'K' integers), upper-case names, units
//     in TUNITn (FITS unit strings), descriptions in TCOMMn and as the TTYPEn
//     comment.
//
// Header values are written in the fixed format with reals in their shortest
// exact form (they read back bit for bit); strings longer than one card use
// the CONTINUE long-string convention. Files pass astropy's
// HDUList.verify('exception') without warnings (checked by .ci/check_fits.py).
//
// # Why not astrogo/fitsio for writing
//
// astrogo/fitsio v0.3.0 writes binary-table columns with TSCALn = 0 unless
// Bscale is set (astropy then reads zeros), adds TBCOLn to binary tables,
// omits PCOUNT/GCOUNT from image extensions, leaves NAXISn cards in an empty
// primary HDU, and formats header reals with six significant digits. Its
// decoder also reads every HDU's data into memory. This package therefore
// writes headers and data itself (a few hundred lines: 80-character cards in
// 2880-byte blocks, big-endian data) and scans HDUs itself for random access
// into the image cubes; the PARAMS table is decoded with fitsio, and the tests
// read every file written here back with fitsio as an independent check.
//
// # Writing
//
// Create refuses to overwrite an existing dataset (NAME.fits or any
// NAME-NNN.fits) unless WriterOptions.Force is set. Each shard is written to a
// hidden temporary file (.NAME-000.fits.tmp-*) in the target directory,
// synced and renamed when its last lens arrives, so no partial file ever
// carries a final name. Writer.Write takes the lenses in index order;
// memory use is one lens plus the shard's PARAMS rows.
//
// # Reading
//
// Open accepts a file, a sharded base name or a glob pattern, and validates
// every file before returning (missing HDUs, truncation, shapes, provenance
// and columns agreeing across shards, contiguous FIRSTIDX, INDEX, required
// columns, NaN or infinite parameters), naming the file, column and row at
// fault. ReadImages and ReadVariance read lens ranges across shard
// boundaries, touching only the files they need.
//
// # Real cutouts
//
// ReadCutout reads one FITS file per band or one cube; see its documentation
// for how bands, variance and weight maps, and non-finite pixels are handled.
package dataset
