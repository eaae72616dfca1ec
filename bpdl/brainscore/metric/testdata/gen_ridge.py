#!/usr/bin/python3
"""Writes the ridge regression cases the metric package's tests compare against scikit-learn.

For each case it saves the inputs (X, Y, Xtest) and what scikit-learn 1.2.1's Ridge(alpha=a) gives
(fit_intercept=True, solver="auto"): coef (coef_ transposed, n_features x n_targets), intercept and
predict(Xtest), under testdata/ridge/<case>_<name>.npy, plus ridge/cases.json listing the cases.

Run from this directory with Debian's python3 (NumPy 1.24, scikit-learn 1.2.1):
    /usr/bin/python3 gen_ridge.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.linear_model import Ridge

os.makedirs("ridge", exist_ok=True)
rng = np.random.RandomState(20240611)

cases = {}
X = rng.randn(50, 8)
cases["tall"] = (X, X @ rng.randn(8, 3) + 0.5 * rng.randn(50, 3), rng.randn(6, 8), 1.0)
X = rng.randn(20, 40)
cases["wide"] = (X, X @ rng.randn(40, 4) + rng.randn(20, 4), rng.randn(5, 40), 1.0)
X = rng.randn(60, 10)
cases["strong"] = (X, X[:, :4] @ rng.randn(4, 5) + rng.randn(60, 5), rng.randn(7, 10), 100.0)
X = rng.randn(30, 5)
cases["weak"] = (X, X @ rng.randn(5, 2) + 0.1 * rng.randn(30, 2), rng.randn(4, 5), 1e-3)
X = rng.randn(40, 6)
cases["least_squares"] = (X, X @ rng.randn(6, 3) + 0.3 * rng.randn(40, 3), rng.randn(5, 6), 0.0)
X = 1000 + 10 * rng.rand(45, 7)
cases["offset"] = (X, X @ rng.randn(7, 2) - 500 + rng.randn(45, 2), 1000 + 10 * rng.rand(5, 7), 2.0)
X = np.maximum(0, rng.randn(25, 60))
cases["wide_relu"] = (X, X[:, :10] @ rng.rand(10, 6) + rng.randn(25, 6), np.maximum(0, rng.randn(6, 60)), 10.0)

index = {"numpy": np.__version__, "sklearn": sklearn.__version__, "cases": []}
for name, (X, Y, Xt, alpha) in cases.items():
    m = Ridge(alpha=alpha).fit(X, Y)
    out = {"X": X, "Y": Y, "Xtest": Xt, "coef": m.coef_.T, "intercept": m.intercept_.reshape(1, -1),
           "predict": m.predict(Xt)}
    for key, arr in out.items():
        np.save("ridge/%s_%s.npy" % (name, key), np.ascontiguousarray(arr, dtype=np.float64))
    index["cases"].append({"name": name, "alpha": alpha})

with open("ridge/cases.json", "w") as f:
    json.dump(index, f, indent=1)
    f.write("\n")
