#!/usr/bin/python3
"""Fits scikit-learn's PLSRegression for a Go test that compares against it at a larger size.

Usage: /usr/bin/python3 fit_pls.py X.npy Y.npy XTEST.npy N_COMPONENTS OUTDIR
Writes OUTDIR/coef.npy (n_features x n_targets), OUTDIR/predict.npy and OUTDIR/n_iter.npy.
"""
import sys
import warnings

import numpy as np
from sklearn.cross_decomposition import PLSRegression

x_path, y_path, xt_path, k, out = sys.argv[1:]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    m = PLSRegression(n_components=int(k), scale=False).fit(np.load(x_path), np.load(y_path))
    coef = m.coef_
np.save(out + "/coef.npy", np.ascontiguousarray(coef))
np.save(out + "/predict.npy", m.predict(np.load(xt_path)))
np.save(out + "/n_iter.npy", np.array(m.n_iter_, dtype=np.int64))
