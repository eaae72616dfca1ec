#!/usr/bin/python3
"""Writes expected.json: what the netCDF4 Python library (netCDF-C underneath) reads from the shared
brainio test assemblies, for brainio's Go reader tests to compare against.

Run with Debian's python3 (apt-get install python3-netcdf4 python3-numpy) from this directory:

    /usr/bin/python3 gen_expected.py ../../../../../shared/data > expected.json

Values are summarised (length, first and last five elements, SHA-256 of a canonical byte encoding) so the file
stays small: strings are UTF-8 joined by NUL bytes, integers little-endian int64, floats little-endian
float64 with every NaN written as 0x7ff8000000000000.
"""
import hashlib
import json
import os
import sys

import netCDF4
import numpy as np

FILES = [
    ("brainio-format/assy_test_TestMe.nc", None),
    ("brainio-format/assy_test_package_assembly.nc", None),
    ("brainio-format/assy_test_package_assembly_extras.nc", None),
    ("brainio-format/assy_test_package_assembly_extras.nc", "test"),
    ("brainscore-synthetic/assy_synthetic_MajajHong2015like_public.nc", None),
]

# Attributes the Go reader consumes rather than reports.
# Strings in head and tail are cut to this many characters (the digest covers them whole).
MAXSTR = 48

HIDDEN = {"_FillValue", "coordinates", "missing_value", "scale_factor", "add_offset"}


def canon_float_bytes(a):
    a = np.asarray(a, dtype="<f8").copy()
    raw = bytearray(a.tobytes())
    for i in np.flatnonzero(np.isnan(a)):
        raw[8 * i:8 * i + 8] = (0x7FF8000000000000).to_bytes(8, "little")
    return bytes(raw)


def summary(values):
    v = np.asarray(values)
    if v.dtype.kind in "OUS":
        items = [x.decode() if isinstance(x, bytes) else str(x) for x in v.ravel()]
        digest = hashlib.sha256(b"\0".join(s.encode() for s in items)).hexdigest()
        kind = "strings"
        head, tail = [x[:MAXSTR] for x in items[:5]], [x[:MAXSTR] for x in items[-5:]]
    elif v.dtype.kind in "iu":
        items = v.ravel().astype("<i8")
        digest = hashlib.sha256(items.tobytes()).hexdigest()
        kind = "ints"
        head, tail = [int(x) for x in items[:5]], [int(x) for x in items[-5:]]
    else:
        items = v.ravel().astype("<f8")
        digest = hashlib.sha256(canon_float_bytes(items)).hexdigest()
        kind = "floats"
        head = [None if np.isnan(x) else float(x) for x in items[:5]]
        tail = [None if np.isnan(x) else float(x) for x in items[-5:]]
    return {"kind": kind, "len": int(v.size), "head": head, "tail": tail, "sha256": digest}


def describe(root, rel, group):
    ds = netCDF4.Dataset(os.path.join(root, rel))
    ds.set_auto_maskandscale(False)
    g = ds.groups[group] if group else ds
    coord_names = set()
    for v in g.variables.values():
        coord_names.update(getattr(v, "coordinates", "").split())
    data_vars = [n for n in g.variables if n not in coord_names and n not in g.dimensions]
    assert len(data_vars) == 1, data_vars
    dv = g.variables[data_vars[0]]
    attrs = {}
    for obj in (g, dv):
        for k in obj.ncattrs():
            val = obj.getncattr(k)
            if k not in HIDDEN and isinstance(val, str):
                attrs[k] = val
    coords = {}
    for name, v in g.variables.items():
        if name == data_vars[0]:
            continue
        s = summary(v[...])
        s["dim"] = v.dimensions[0] if v.dimensions else ""
        coords[name] = s
    data = np.asarray(dv[...], dtype="<f8")
    out = {
        "file": rel,
        "group": group or "",
        "variable": data_vars[0],
        "dims": list(dv.dimensions),
        "shape": list(dv.shape),
        "attrs": attrs,
        "coords": coords,
        "data": summary(data),
    }
    ds.close()
    return out


def main():
    root = sys.argv[1]
    json.dump([describe(root, rel, group) for rel, group in FILES], sys.stdout, indent=None, sort_keys=True, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
