#!/usr/bin/python3
"""Extracts the brainscore-synthetic assembly into .npy files the Go tests can read.

Usage: /usr/bin/python3 gen_synthetic.py ASSEMBLY.nc STIMULUS_SET.csv OUTDIR

The assembly (presentation x neuroid x time_bin, netCDF-4) is read with the netCDF4 module. Images are
ordered as in the stimulus set CSV (the row order of features_pixels8x8.npy). For each region it writes
OUTDIR/repetitions_<region>.npy (repetitions x images x neuroids, NaN where a repetition is missing) and
OUTDIR/responses_<region>.npy (images x neuroids, the mean over repetitions), and OUTDIR/labels.npy
(each image's object as an integer code in sorted object-name order).

Nothing it writes is committed: the test runs it into a temporary directory. It exists only until the
project's own netCDF reader can read the assembly.
"""
import csv
import sys

import netCDF4
import numpy as np


def main(nc_path, csv_path, out):
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    order = {r["stimulus_id"]: i for i, r in enumerate(rows)}
    objects = sorted({r["object_name"] for r in rows})
    labels = np.array([objects.index(r["object_name"]) for r in rows], dtype=np.int64)
    np.save(out + "/labels.npy", labels)

    ds = netCDF4.Dataset(nc_path)
    ds.set_auto_mask(False)
    data_vars = [v for v in ds.variables.values() if v.dimensions == ("presentation", "neuroid", "time_bin")]
    if len(data_vars) != 1:
        sys.exit("expected one presentation x neuroid x time_bin variable, found %d" % len(data_vars))
    values = np.asarray(data_vars[0][:], dtype=np.float64)[:, :, 0]
    stimulus = [str(s) for s in ds.variables["stimulus_id"][:]]
    repetition = np.asarray(ds.variables["repetition"][:], dtype=np.int64)
    region = np.array([str(s) for s in ds.variables["region"][:]])
    n_rep = int(repetition.max()) + 1
    for name in ["V4", "IT"]:
        cols = np.flatnonzero(region == name)
        reps = np.full((n_rep, len(rows), len(cols)), np.nan)
        for p, (sid, rep) in enumerate(zip(stimulus, repetition)):
            reps[rep, order[sid]] = values[p, cols]
        np.save("%s/repetitions_%s.npy" % (out, name), reps)
        np.save("%s/responses_%s.npy" % (out, name), np.nanmean(reps, axis=0))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
