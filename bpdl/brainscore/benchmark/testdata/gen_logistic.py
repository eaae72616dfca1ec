#!/usr/bin/python3
"""Writes small multinomial logistic regression cases fitted by scikit-learn 1.2 as model-tools'
ProbabilitiesClassifier does (StandardScaler, then LogisticRegression(multi_class="multinomial",
solver="newton-cg", C=...)), for the Go tests.

Run with Debian's python3 (python3-sklearn, python3-numpy) from this directory:

    /usr/bin/python3 gen_logistic.py

For each case it writes logistic/<case>_{x,y,xtest,proba,proba_tight}.npy: training features and labels,
test features, and the test probabilities with scikit-learn's default tol=1e-4 and with tol=1e-9.
"""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def case(name, n, p, k, c, seed):
    rng = np.random.RandomState(seed)
    centres = rng.normal(size=(k, p))
    y = rng.randint(0, k, size=n)
    x = centres[y] + rng.normal(scale=2.0, size=(n, p))
    x[:, 0] = 3.0  # a constant feature, as a dead unit gives
    x[:, 1] = np.maximum(x[:, 1], 0)  # a rectified one
    xtest = centres[rng.randint(0, k, size=n // 2)] + rng.normal(scale=2.0, size=(n // 2, p))
    xtest[:, 0] = 3.0
    scaler = StandardScaler().fit(x)
    for suffix, tol in [("proba", 1e-4), ("proba_tight", 1e-9)]:
        clf = LogisticRegression(multi_class="multinomial", solver="newton-cg", C=c, tol=tol, max_iter=1000)
        clf.fit(scaler.transform(x), y)
        np.save("logistic/%s_%s.npy" % (name, suffix), clf.predict_proba(scaler.transform(xtest)))
    np.save("logistic/%s_x.npy" % name, x)
    np.save("logistic/%s_y.npy" % name, y.astype(np.int64))
    np.save("logistic/%s_xtest.npy" % name, xtest)


if __name__ == "__main__":
    case("c1e-3", 150, 20, 6, 1e-3, 1)
    case("c1", 150, 20, 6, 1.0, 2)
    case("binary", 80, 5, 2, 1e-3, 3)
