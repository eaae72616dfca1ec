#!/usr/bin/python3
"""Writes i2n_case.json: a small synthetic match-to-sample data set (6 objects, 10 images each, 40 trials
per image), model class probabilities for its images, and Brain-Score's i2n scores for them, computed
with NumPy and SciPy following brainscore.metrics.image_level_behavior.I2n (2021) step by step, for the
Go tests.

Run with Debian's python3 (python3-numpy, python3-scipy) from this directory:

    /usr/bin/python3 gen_i2n.py

Steps (Brain-Score's names): target_distractor_scores p_c/(p_c+p_truth) for the model;
build_response_matrix_from_responses for a half of the human trials (choices of c over trials offering
c); dprime z(1-p) - z(mean over images of object c of their value in the column of this image's
object); clip to +-5; subtract_mean over (truth, choice) groups; correlate by Pearson r over entries where
the target is not NaN (and the source too for the ceiling, skipna=True); halves from
RandomState(0).shuffle of the trial indices, two repetitions; ceiled = mean over repetitions of
r/sqrt(ceiling).
"""
import json

import numpy as np
from scipy.stats import norm, pearsonr

OBJECTS = ["bear", "car", "dog", "elephant", "plane", "zebra"]


def make_data(rng):
    images, truth = [], []
    for o in OBJECTS:
        for k in range(10):
            images.append("%s_%02d" % (o, k))
            truth.append(o)
    difficulty = rng.uniform(0.0, 0.7, size=len(images))
    confusion = rng.dirichlet(np.ones(len(OBJECTS)), size=len(OBJECTS))
    trials = []
    for i, (img, t) in enumerate(zip(images, truth)):
        for _ in range(40):
            d = OBJECTS[rng.choice([j for j in range(len(OBJECTS)) if OBJECTS[j] != t])]
            p_err = difficulty[i] * 2 * confusion[OBJECTS.index(t), OBJECTS.index(d)] ** 0.5
            choice = d if rng.uniform() < p_err else t
            trials.append((img, t, d, choice))
    # model probabilities: a noisy version of the same structure
    proba = rng.dirichlet(np.ones(len(OBJECTS)) * 0.7, size=len(images))
    for i, t in enumerate(truth):
        proba[i, OBJECTS.index(t)] += max(0.05, 1.5 * (0.7 - difficulty[i]))
    proba /= proba.sum(axis=1, keepdims=True)
    return images, truth, trials, proba


def dprimes(values, truth, choices):
    n, k = values.shape
    out = np.full((n, k), np.nan)
    for i in range(n):
        for c in range(k):
            hit = 1 - values[i, c]
            rows = [j for j in range(n) if truth[j] == choices[c]]
            col = choices.index(truth[i]) if truth[i] in choices else None
            fa = np.nanmean(values[rows, col]) if rows and col is not None else np.nan
            with np.errstate(invalid="ignore"):
                out[i, c] = norm.ppf(hit) - norm.ppf(fa)
    out = np.clip(out, -5, 5)
    for t in set(truth):
        rows = [j for j in range(n) if truth[j] == t]
        for c in range(k):
            g = out[rows, c]
            if np.all(np.isnan(g)):
                continue
            out[rows, c] = g - np.nanmean(g)
    return out


def model_matrix(images, truth, proba):
    order = np.argsort(images)
    choices = sorted(OBJECTS)
    v = np.full((len(images), len(choices)), np.nan)
    for r, i in enumerate(order):
        pt = proba[i, OBJECTS.index(truth[i])]
        for c, o in enumerate(choices):
            if o != truth[i]:
                pc = proba[i, OBJECTS.index(o)]
                v[r, c] = pc / (pc + pt)
    return dprimes(v, [truth[i] for i in order], choices)


def human_matrix(trials):
    imgs = sorted(set(t[0] for t in trials))
    choices = sorted(set(t[3] for t in trials))
    truth = {}
    chosen, offered = {}, {}
    for img, s, d, c in trials:
        truth.setdefault(img, s)
        chosen[(img, c)] = chosen.get((img, c), 0) + 1
        offered[(img, s)] = offered.get((img, s), 0) + 1
        offered[(img, d)] = offered.get((img, d), 0) + 1
    v = np.full((len(imgs), len(choices)), np.nan)
    for i, img in enumerate(imgs):
        for c, o in enumerate(choices):
            if o != truth[img] and offered.get((img, o), 0) > 0:
                v[i, c] = chosen.get((img, o), 0) / offered[(img, o)]
    return dprimes(v, [truth[i] for i in imgs], choices)


def correlate(a, b, skipna):
    a, b = a.ravel(), b.ravel()
    keep = ~np.isnan(b)
    if skipna:
        keep &= ~np.isnan(a)
    assert not np.any(np.isnan(a[keep]))
    return pearsonr(a[keep], b[keep])[0]


def main():
    rng = np.random.RandomState(3)
    images, truth, trials, proba = make_data(rng)
    source = model_matrix(images, truth, proba)
    scores, ceilings = [], []
    rs = np.random.RandomState(0)
    for _ in range(2):
        idx = list(range(len(trials)))
        rs.shuffle(idx)
        half = len(idx) // 2
        scores.append(correlate(source, human_matrix([trials[i] for i in idx[:half]]), False))
    rs = np.random.RandomState(0)
    for _ in range(2):
        idx = list(range(len(trials)))
        rs.shuffle(idx)
        half = len(idx) // 2
        h0 = human_matrix([trials[i] for i in idx[:half]])
        h1 = human_matrix([trials[i] for i in idx[half:]])
        ceilings.append(correlate(h0, h1, True))
    ceiled = [s / np.sqrt(c) for s, c in zip(scores, ceilings)]
    out = {
        "objects": OBJECTS, "images": images, "truth": truth,
        "trials": [list(t) for t in trials], "proba": proba.tolist(),
        "raw_per_split": scores, "ceiling_per_split": ceilings,
        "raw": float(np.mean(scores)), "ceiling": float(np.mean(ceilings)), "ceiled": float(np.mean(ceiled)),
    }
    json.dump(out, open("i2n_case.json", "w"))
    print({k: out[k] for k in ["raw_per_split", "ceiling_per_split", "raw", "ceiling", "ceiled"]})


if __name__ == "__main__":
    main()
