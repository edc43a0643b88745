#!/usr/bin/env python3
"""Check lenssbi dataset FITS files with astropy, the reader most users have.

Usage: python3 .ci/check_fits.py FILE.fits [FILE.fits ...]

For each file: open it with astropy.io.fits with every warning turned into an
error, run hdul.verify('exception'), check the IMAGES and VARIANCE cubes
(big-endian float32, numpy shape (lens, band, ny, nx) matching the primary
header, finite, variance >= 0), read PARAMS (units must parse as FITS units,
no NaN or Inf, INDEX = FIRSTIDX + row). When FILE.fits.json exists (the Go
test TestWriteForCI writes one), compare header values, parameter columns,
units and the first lens's pixels with it, exactly.

Prints one line per file and exits non-zero if any check fails.
Needs: pip install astropy numpy
"""

import json
import os
import sys
import warnings

import numpy as np
from astropy import units as u
from astropy.io import fits

PROVENANCE = ["LENSSBI", "CREATOR", "DATE", "PRESET", "SEED", "H0", "OM0", "NLENS",
              "NTOTAL", "SHARD", "NSHARDS", "FIRSTIDX", "NX", "NY", "NBANDS", "BANDS",
              "PIXSCALE", "SUPERSMP"]


class CheckError(Exception):
    pass


def require(cond, msg):
    if not cond:
        raise CheckError(msg)


def check_unit(where, unit):
    try:
        u.Unit(unit, format="fits")
    except Exception as exc:  # astropy raises ValueError subclasses
        raise CheckError(f"{where}: unit {unit!r} is not a FITS unit: {exc}")


def check_file(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any astropy warning is a failure
        with fits.open(path, memmap=False) as hdul:
            hdul.verify("exception")
            names = [h.name for h in hdul]
            require(names == ["PRIMARY", "IMAGES", "VARIANCE", "PARAMS"],
                    f"HDUs are {names}, want PRIMARY IMAGES VARIANCE PARAMS")
            ph = hdul[0].header
            for key in PROVENANCE:
                require(key in ph, f"primary header lacks {key}")
            require(hdul[0].data is None, "primary HDU has data")
            if ph["CREATOR"] == "lenssbi simulate":
                sv = ph.get("SIMVER")
                require(isinstance(sv, int) and sv >= 1,
                        f"SIMVER = {sv!r}: lenssbi simulate must record its output version")
            nlens, nx, ny, nb = ph["NLENS"], ph["NX"], ph["NY"], ph["NBANDS"]
            bands = ph["BANDS"].split(",")
            require(len(bands) == nb, f"BANDS {ph['BANDS']!r} vs NBANDS {nb}")
            for name, unit in (("IMAGES", "count/s"), ("VARIANCE", "count2/s2")):
                h = hdul[name]
                require(h.header["BUNIT"] == unit, f"{name} BUNIT {h.header['BUNIT']!r}, want {unit!r}")
                check_unit(f"{name} BUNIT", h.header["BUNIT"])
                data = h.data
                require(data.dtype == np.dtype(">f4"), f"{name} dtype {data.dtype}, want >f4")
                require(data.shape == (nlens, nb, ny, nx),
                        f"{name} shape {data.shape}, want {(nlens, nb, ny, nx)}")
                require(np.all(np.isfinite(data)), f"{name} has non-finite pixels")
                if name == "VARIANCE":
                    require(np.all(data >= 0), "VARIANCE has negative pixels")
            tbl = hdul["PARAMS"]
            cols = tbl.columns
            require(cols.names[0] == "INDEX", f"first column is {cols.names[0]}, want INDEX")
            require(len(tbl.data) == nlens, f"PARAMS has {len(tbl.data)} rows, want {nlens}")
            for c in cols:
                require(c.name == c.name.upper(), f"column {c.name} is not upper case")
                if c.unit:
                    check_unit(f"column {c.name}", c.unit)
                vals = np.asarray(tbl.data[c.name])
                require(np.all(np.isfinite(vals)), f"column {c.name} has NaN or Inf")
            index = np.asarray(tbl.data["INDEX"])
            require(np.array_equal(index, ph["FIRSTIDX"] + np.arange(nlens)),
                    "INDEX is not FIRSTIDX + row")
            # astropy's Table reader also parses the units (warnings are errors here).
            from astropy.table import Table
            t = Table.read(hdul["PARAMS"])
            for c in cols:
                if c.unit:
                    require(t[c.name].unit == u.Unit(c.unit, format="fits"), f"column {c.name} unit lost")
            images = hdul["IMAGES"].data
            variance = hdul["VARIANCE"].data
            compare_sidecar(path, ph, tbl, images, variance, bands, nx, ny)
            return f"{nlens} lenses, {nb} bands {ph['BANDS']}, {ny}x{nx}, {len(cols)} columns"


def compare_sidecar(path, ph, tbl, images, variance, bands, nx, ny):
    side_path = path + ".json"
    if not os.path.exists(side_path):
        return
    with open(side_path) as f:
        side = json.load(f)
    require(side["nlens"] == ph["NLENS"], "NLENS differs from sidecar")
    require(side["firstidx"] == ph["FIRSTIDX"], "FIRSTIDX differs from sidecar")
    require(side["nx"] == nx and side["ny"] == ny, "NX/NY differ from sidecar")
    require(side["bands"] == bands, "BANDS differ from sidecar")
    for key, want in side["header"].items():
        require(ph[key] == want, f"header {key} = {ph[key]!r}, sidecar says {want!r}")
    for name, want in side["params"].items():
        got = np.asarray(tbl.data[name], dtype=np.float64)
        require(np.array_equal(got, np.asarray(want, dtype=np.float64)), f"column {name} differs from sidecar")
    for name, unit in side["units"].items():
        got = tbl.columns[name].unit or ""
        require(got == unit, f"column {name} unit {got!r}, sidecar says {unit!r}")
    for label, cube, key in (("IMAGES", images, "images_first_lens_bits"),
                             ("VARIANCE", variance, "variance_first_lens_bits")):
        # The sidecar holds IEEE bit patterns, so -0 and 0 differ too.
        want = np.asarray(side[key], dtype=np.uint32).reshape(len(bands), ny, nx)
        got = np.asarray(cube[0], dtype=np.float32).view(np.uint32)
        require(np.array_equal(got, want), f"{label} lens 0 differs from sidecar")


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    failed = 0
    for path in argv[1:]:
        try:
            summary = check_file(path)
            side = " (+sidecar)" if os.path.exists(path + ".json") else ""
            print(f"OK   {path}: {summary}{side}")
        except Exception as exc:  # report every file, then fail
            failed += 1
            print(f"FAIL {path}: {type(exc).__name__}: {exc}")
    print(f"{len(argv) - 1 - failed} of {len(argv) - 1} files passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
