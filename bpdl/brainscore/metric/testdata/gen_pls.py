#!/usr/bin/python3
"""Writes the PLS regression cases the metric package's tests compare against scikit-learn.

For each case it saves the inputs (X, Y, X_test) and what scikit-learn 1.2.1's
PLSRegression(n_components=k, scale=False, max_iter=m) gives: coef_ (n_features x n_targets),
x_weights_, x_loadings_, y_loadings_, x_rotations_, predict(X_test) and n_iter_, under
testdata/pls/<case>_<name>.npy, plus pls/cases.json listing the cases.

Run from this directory with Debian's python3 (NumPy 1.24, scikit-learn 1.2.1):
    /usr/bin/python3 gen_pls.py
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.cross_decomposition import PLSRegression

os.makedirs("pls", exist_ok=True)
rng = np.random.RandomState(20240601)


def relu_features(n, p, latent):
    z = rng.randn(n, latent)
    return np.maximum(0, z @ rng.randn(latent, p) + 0.3 * rng.randn(n, p)), z


cases = {}

X = rng.randn(40, 10)
cases["basic"] = (X, X[:, :3] @ rng.randn(3, 3) + 0.5 * rng.randn(40, 3), rng.randn(7, 10), 5, 500)

X = rng.randn(20, 50)
cases["wide"] = (X, X @ rng.randn(50, 4) + rng.randn(20, 4), rng.randn(5, 50), 10, 500)

X = rng.randn(30, 8)
cases["single_target"] = (X, X @ rng.randn(8, 1) + 0.1 * rng.randn(30, 1), rng.randn(4, 8), 4, 500)

X = rng.randn(40, 6)
Y = np.column_stack([X[:, 0] + 0.2 * rng.randn(40), np.full(40, 0.5), X[:, 1] - X[:, 2]])
cases["constant_column"] = (X, Y, rng.randn(6, 6), 4, 500)

a = rng.randn(24)
X = np.column_stack([a, a, a])
Y = 0.01 * np.column_stack([a, 2 * a])
cases["residual_exhausted"] = (X, Y, rng.randn(3, 3), 3, 500)

X = rng.randn(50, 12)
cases["max_iter_3"] = (X, X[:, :6] + rng.randn(50, 6), rng.randn(5, 12), 3, 3)

X, z = relu_features(200, 120, 16)
Y = np.maximum(0, z @ rng.randn(16, 30)) + 0.5 * rng.randn(200, 30)
cases["medium_25"] = (X, Y, relu_features(20, 120, 16)[0], 25, 500)

X = rng.rand(90, 40).astype(np.float32).astype(np.float64)
cases["float32_inputs"] = (X, X[:, :5] @ rng.rand(5, 8) + 0.1 * rng.randn(90, 8), rng.rand(10, 40), 25, 500)

X = rng.randn(60, 5)
cases["many_targets"] = (X, X @ rng.randn(5, 20) + rng.randn(60, 20), rng.randn(6, 5), 5, 500)

X = rng.randn(45, 9)
cases["square"] = (X, X @ rng.randn(9, 9) + rng.randn(45, 9), rng.randn(6, 9), 9, 500)

index = {"numpy": np.__version__, "sklearn": sklearn.__version__, "cases": []}
for name, (X, Y, Xt, k, max_iter) in cases.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = PLSRegression(n_components=k, scale=False, max_iter=max_iter).fit(X, Y)
        coef = m.coef_
    out = {
        "X": X, "Y": Y, "Xtest": Xt,
        "coef": coef, "x_weights": m.x_weights_, "x_loadings": m.x_loadings_,
        "y_loadings": m.y_loadings_, "x_rotations": m.x_rotations_,
        "predict": m.predict(Xt).reshape(len(Xt), -1),
    }
    for key, arr in out.items():
        np.save("pls/%s_%s.npy" % (name, key), np.ascontiguousarray(arr, dtype=np.float64))
    index["cases"].append({"name": name, "components": k, "max_iter": max_iter,
                           "n_iter": [int(i) for i in m.n_iter_]})

with open("pls/cases.json", "w") as f:
    json.dump(index, f, indent=1)
    f.write("\n")
