#!/usr/bin/python3
"""Writes small Level 5 MAT-files with scipy.io.savemat for the matfile package's tests.

Run with Debian's python3 (python3-scipy, python3-numpy) from this directory:

    /usr/bin/python3 gen_fixtures.py

plain.mat is uncompressed, compressed.mat the same variables with zlib compression (as MATLAB's default
-v7 files are). The variables and their values are spelled out in matfile_test.go.
"""
import numpy as np
import scipy.io as sio


def variables():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)  # rows x columns x channels
    s = np.zeros((1, 2), dtype=[("name", object), ("image", object), ("flag", object)])
    s[0, 0] = ("first", img, np.array([[True, False]]))
    s[0, 1] = ("zweite é", img[:, :, ::-1].copy(), np.array([[False]]))
    cell = np.empty((1, 3), dtype=object)
    cell[0, 0] = np.array([[1.5, -2.25]])
    cell[0, 1] = "text"
    cell[0, 2] = np.array([[7]], dtype=np.int16)
    return {
        "vector": np.array([[0.5, 1.0, -3.0, 1e300]]),
        "matrix": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
        "ints": np.array([[-5, 300]], dtype=np.int32),
        "single": np.array([[0.25]], dtype=np.float32),
        "label": "hello",
        "records": s,
        "cells": cell,
    }


if __name__ == "__main__":
    sio.savemat("plain.mat", variables(), do_compression=False)
    sio.savemat("compressed.mat", variables(), do_compression=True)
