#!/usr/bin/python3
"""Writes the small .npy files the npy package's tests read, with NumPy itself.

Run from this directory with Debian's python3 (NumPy 1.24): /usr/bin/python3 gen_npy.py
"""
import numpy as np
from numpy.lib import format as npf

m = np.arange(12, dtype=np.float64).reshape(3, 4) / 8 - 0.5
np.save("f8_3x4.npy", m)
np.save("f4_3x4.npy", m.astype(np.float32))
np.save("i8_5.npy", np.array([3, -1, 0, 7, 2**40], dtype=np.int64))
np.save("i4_5.npy", np.array([3, -1, 0, 7, -2**31], dtype=np.int32))
np.save("u1_4.npy", np.array([0, 1, 200, 255], dtype=np.uint8))
np.save("b1_4.npy", np.array([True, False, False, True]))
np.save("f8_scalar.npy", np.float64(2.5))
np.save("f8_0x3.npy", np.zeros((0, 3)))
np.save("f8_2x3x2.npy", np.arange(12, dtype=np.float64).reshape(2, 3, 2))
np.save("f8_fortran.npy", np.asfortranarray(m))
np.save("f8_bigendian.npy", m.astype(">f8"))
np.save("c16_2.npy", np.array([1 + 2j, 3j]))
for version in [(2, 0), (3, 0)]:
    with open("f8_3x4_v%d.npy" % version[0], "wb") as f:
        npf.write_array(f, m, version=version)
