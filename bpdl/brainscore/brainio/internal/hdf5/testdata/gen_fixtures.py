#!/usr/bin/python3
"""Writes the small HDF5 files the hdf5 package's tests read: every storage layout and chunk index the
reader supports (and one it does not), in files of the oldest and the newest format.

Run with Debian's python3 (apt-get install python3-h5py) from this directory:

    /usr/bin/python3 gen_fixtures.py

The tests recompute the expected values from the formulas below, so keep the two in step.
"""
import h5py
import numpy as np


def compact(parent, name, data):
    space = h5py.h5s.create_simple(data.shape)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    tid = h5py.h5t.py_create(data.dtype)
    ds = h5py.h5d.create(parent.id, name.encode(), tid, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def implicit(parent, name, data, chunks):
    space = h5py.h5s.create_simple(data.shape)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk(chunks)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    tid = h5py.h5t.py_create(data.dtype)
    ds = h5py.h5d.create(parent.id, name.encode(), tid, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def common(f):
    """Datasets written identically to both files."""
    grid = np.arange(35, dtype="<i4").reshape(5, 7)
    f.create_dataset("contiguous", data=np.arange(6, dtype="<f8").reshape(2, 3) / 4)
    compact(f, "compact", np.array([-3, 0, 3], dtype="<i2"))
    f.create_dataset("edge_chunks", data=grid, chunks=(2, 3), compression="gzip", shuffle=True)
    f.create_dataset("edge_chunks_plain", data=grid, chunks=(2, 3))
    f.create_dataset("fletcher", data=np.arange(10, dtype="<f4") * 1.5, chunks=(4,), fletcher32=True)
    f.create_dataset("big_endian", data=np.array([1, 256, 65535, 7], dtype=">u2"))
    f.create_dataset("big_endian_f32", data=np.array([0.5, -2, 1e10], dtype=">f4"))
    f.create_dataset("int8", data=np.array([-128, -1, 0, 127], dtype="i1"))
    f.create_dataset("fixed_strings", data=np.array([b"ab", b"hello", b""], dtype="S5"))
    f.create_dataset("vlen_strings", data=np.array(["x", "", "longer string"], dtype=h5py.string_dtype()))
    f.create_dataset("scalar", data=np.float32(2.5))
    f.create_dataset("unwritten", shape=(6,), dtype="<i4", chunks=(4,), fillvalue=7)
    f.create_dataset("many_chunks", data=np.arange(300, dtype="<i2"), chunks=(2,))
    g = f.create_group("group").create_group("sub")
    g.create_dataset("leaf", data=np.array([42], dtype="<i8"))
    big = f.create_group("big_group")
    for i in range(20):
        big.create_dataset("member%02d" % i, data=np.array([i], dtype="<i4"))
    d = f["contiguous"]
    for i in range(12):
        d.attrs["attr%02d" % i] = np.int32(i)
    d.attrs["text"] = "some text"
    d.attrs["floats"] = np.array([1.5, -2.0])


with h5py.File("oldest.h5", "w", libver="earliest") as f:
    common(f)

with h5py.File("latest.h5", "w", libver="latest") as f:
    common(f)
    grid = np.arange(35, dtype="<i4").reshape(5, 7)
    f.create_dataset("single_chunk", data=grid, chunks=(5, 7), compression="gzip")
    f.create_dataset("single_chunk_plain", data=grid, chunks=(5, 7))
    implicit(f, "implicit", grid, (2, 3))
    f.create_dataset("extensible", data=np.arange(5, dtype="<i4"), chunks=(2,), maxshape=(None,))
    # Enough links for a version 2 B-tree of depth 2 and a fractal heap with an indirect block: soft
    # links keep the file small; three hard links are spread among them.
    wide = f.create_group("wide_group")
    for i in range(1500):
        wide["s%04d" % i] = h5py.SoftLink("/scalar")
    for i in (0, 700, 1499):
        wide["h%04d" % i] = f["scalar"]
