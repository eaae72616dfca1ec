#!/usr/bin/python3
"""Writes rsa92_pixels.json: the rsa92 benchmark's scores for the pixels model (the 92 images prepared
as the study's inputs, 3x32x32 and 1x28x28), computed with PIL, NumPy and SciPy, for the Go tests.

Run with Debian's python3 (python3-pil, python3-numpy, python3-scipy) from this directory:

    /usr/bin/python3 gen_rsa92.py ../../../../../shared/data/rsa92/Kriegeskorte_Neuron2008_supplementalData.mat

The model RDM is 1 - Pearson r between image patterns (rsatoolbox's "correlation" RDM), compared with the
brain RDMs by Spearman's rho over the upper triangle. The bootstrap draws each resample's 92 indices with
RandomState(seed).randint(0, 92), one at a time, and keeps the pairs of sampled positions whose images
differ.
"""
import json
import sys

import numpy as np
import scipy.io as sio
from PIL import Image
from scipy.stats import spearmanr
from scipy.spatial.distance import squareform


def study(image, channels, size):
    im = Image.fromarray(image, mode="RGB")
    if channels == 1:
        im = im.convert("L")
    a = np.array(im.resize((size, size), Image.BILINEAR), dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    a = (a / np.float32(255) - np.float32(0.5)) / np.float32(0.5)
    return a.transpose(2, 0, 1).reshape(-1).astype(np.float64)


def rdm(x):
    z = x - x.mean(axis=1, keepdims=True)
    z /= np.sqrt((z * z).sum(axis=1, keepdims=True))
    r = np.clip(z @ z.T, -1, 1)
    d = 1 - r
    np.fill_diagonal(d, 0)
    return d


def bootstrap(a, b, samples, seed):
    rng = np.random.RandomState(seed)
    n = a.shape[0]
    iu = np.triu_indices(n, 1)
    out = []
    for _ in range(samples):
        idx = np.array([rng.randint(0, n) for _ in range(n)])
        p, q = idx[iu[0]], idx[iu[1]]
        keep = p != q
        out.append(spearmanr(a[p[keep], q[keep]], b[p[keep], q[keep]]).correlation)
    return np.array(out)


def main(path):
    m = sio.loadmat(path)
    images = [s["image"] for s in m["stimuli_92objs"][0]]
    brains = {name: squareform(r["RDM"][0]) for name, r in zip(["macaque-IT", "human-IT"], m["RDMs_mIT_hIT_fig1"][0])}
    iu = np.triu_indices(92, 1)
    out = {}
    for channels, size in [(3, 32), (1, 28)]:
        x = np.stack([study(im, channels, size) for im in images])
        model = rdm(x)
        for name, brain in brains.items():
            boot = bootstrap(model, brain, 200, 1)
            out["%s/%dx%dx%d" % (name, channels, size, size)] = {
                "rho": spearmanr(model[iu], brain[iu]).correlation,
                "low": np.percentile(boot, 2.5), "high": np.percentile(boot, 97.5), "bootstrap": 200, "seed": 1,
            }
    json.dump(out, open("rsa92_pixels.json", "w"), indent=1, sort_keys=True)
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
