#!/usr/bin/python3
"""Writes splits_cases.json: NumPy RandomState draws and scikit-learn ShuffleSplit /
StratifiedShuffleSplit splits that the metric package's tests must reproduce exactly.

Run from this directory with Debian's python3 (NumPy 1.24, scikit-learn 1.2.1):
    /usr/bin/python3 gen_splits.py
"""
import json

import numpy as np
import sklearn
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

out = {"numpy": np.__version__, "sklearn": sklearn.__version__}

rs = np.random.RandomState(1)
out["rng_seed1_uint32"] = [int(v) for v in rs.randint(0, 2**32, size=5, dtype=np.uint64)]
out["rng_seed1_perm10"] = np.random.RandomState(1).permutation(10).tolist()
out["rng_seed7_perm1000_head"] = np.random.RandomState(7).permutation(1000)[:20].tolist()
rs = np.random.RandomState(3)
out["rng_seed3_randint"] = {"high": 92, "values": rs.randint(0, 92, size=30).tolist()}
rs = np.random.RandomState(5)
out["rng_seed5_choice"] = rs.choice(np.array([2, 5, 9, 11]), size=2, replace=False).tolist()

cases = []
rng = np.random.RandomState(0)
stratified = [
    ("even 8 classes", np.repeat(np.arange(8), 20), 0.9, None, 1),
    ("uneven", rng.randint(0, 5, size=97), 0.9, None, 1),
    ("ties", np.array([0, 0, 1, 1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5]), 0.5, None, 3),
    ("both sizes", np.repeat(np.arange(3), [7, 11, 13]), 0.7, 0.2, 42),
    ("negative labels", np.array([-3, 7, -3, 7, 7, 2, 2, -3, 2, 7, 2, -3]), 0.6, None, 0),
    ("many classes", rng.randint(0, 40, size=400), 0.9, 0.1, 1),
]
for name, y, train, test, seed in stratified:
    sss = StratifiedShuffleSplit(n_splits=10, train_size=train, test_size=test, random_state=seed)
    splits = [{"train": tr.tolist(), "test": te.tolist()} for tr, te in sss.split(np.zeros(len(y)), y)]
    cases.append({"name": name, "stratified": True, "labels": y.tolist(), "n": len(y),
                  "train_size": train, "test_size": test or 0, "seed": seed, "splits": splits})
plain = [
    ("plain 160", 160, 0.9, None, 1),
    ("plain 37 both", 37, 0.6, 0.3, 4),
    ("halves of 6", 6, 0.5, None, 1),
    ("halves of 7", 7, 0.5, None, 1),
    ("default test", 23, None, None, 2),
]
for name, n, train, test, seed in plain:
    ss = ShuffleSplit(n_splits=10, train_size=train, test_size=test, random_state=seed)
    splits = [{"train": tr.tolist(), "test": te.tolist()} for tr, te in ss.split(np.zeros(n))]
    cases.append({"name": name, "stratified": False, "n": n, "train_size": train or 0,
                  "test_size": test or 0, "seed": seed, "splits": splits})
out["cases"] = cases

with open("splits_cases.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
