#!/usr/bin/python3
"""Writes rsa_case.json: an RDM, its comparison with a target RDM and a bootstrap interval, computed
with NumPy and SciPy by the procedure the metric package documents for RDM and RSA.

Run from this directory with Debian's python3 (NumPy 1.24, SciPy 1.10): /usr/bin/python3 gen_rsa.py
"""
import json

import numpy as np
from scipy.stats import spearmanr

rng = np.random.RandomState(11)
n = 14
acts = rng.randn(n, 6)
target_acts = acts @ rng.randn(6, 9) + 0.8 * rng.randn(n, 9)
rdm = 1 - np.corrcoef(acts)
target = 1 - np.corrcoef(target_acts)
iu = np.triu_indices(n, k=1)
score = spearmanr(rdm[iu], target[iu])[0]

seed, n_boot = 5, 40
boot_rng = np.random.RandomState(seed)
boot = []
for _ in range(n_boot):
    idx = boot_rng.randint(0, n, size=n)
    a, b = [], []
    for i in range(n):
        for j in range(i + 1, n):
            if idx[i] != idx[j]:
                # corrcoef is not exactly symmetric; read every pair from the upper triangle so that a
                # pair drawn twice ties exactly.
                lo, hi = min(idx[i], idx[j]), max(idx[i], idx[j])
                a.append(rdm[lo, hi])
                b.append(target[lo, hi])
    boot.append(spearmanr(a, b)[0])
low, high = np.percentile(boot, [2.5, 97.5])

with open("rsa_case.json", "w") as f:
    json.dump({"activations": acts.tolist(), "target_activations": target_acts.tolist(),
               "rdm_condensed": rdm[iu].tolist(), "score": score, "seed": seed, "n_boot": n_boot,
               "bootstrap": boot, "low": low, "high": high}, f)
    f.write("\n")
