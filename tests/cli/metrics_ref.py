#!/usr/bin/python3
"""metrics_ref.py RUN TEST [SHARD...] [-- RUN TEST [SHARD...] ...] - check the
last line of each RUN/metrics.jsonl against scikit-learn, independently of
fedsilo's metric code (one process for several runs: importing scikit-learn
takes about a second).

The predictions come from a numpy forward pass of RUN/checkpoint.h5 (the
parameter slab of src/train/fs_model.c: W1 (h1, d) row-major, b1, W2, b2, ...;
ReLU between layers; logistic: one logit, class 1 iff z > 0, score
sigmoid(z); otherwise the first argmax of the logits) on TEST, and, with
SHARD files, on their /validation parts pooled.  scikit-learn then gives
accuracy, the confusion matrix, per-class and macro F1 (over the classes that
occur or are predicted), which must equal the reported values to the
printed digits (%.9g; %.6g for the per-class list), and for a binary task
roc_auc_score, which the reported 1000-bin AUC must match within the bound
of fs_fl.h: half the fraction of (positive, negative) pairs with distinct
scores that can share a bin (closer than 1/1000), plus the pairs closer than
1e-6, which float32 and float64 may order differently.

fedsilo computes the logits in float32 (OpenBLAS), this script in float64:
a row whose top two logits (or whose logit and 0) are within 1e-3 may be
classified differently.  Every assignment of such rows (at most 12) is
tried, and one must reproduce every reported value.
"""
import itertools
import json
import sys

import h5py
import numpy as np
from sklearn import metrics as M


def load(run):
    """The last metrics line of run and the layers [(W, b), ...] of its checkpoint."""
    with open(run + "/metrics.jsonl") as f:
        rep = json.loads(f.read().splitlines()[-1])
    ck = h5py.File(run + "/checkpoint.h5", "r")
    spec = ck.attrs["model"]
    spec = spec.decode() if isinstance(spec, bytes) else str(spec)
    d, K = int(ck.attrs["d"]), int(ck.attrs["num_classes"])
    assert "standardize_mean" not in ck, "this check does not apply --standardize"
    p = np.array(ck["params"], dtype=np.float64)
    hidden = [int(h) for h in spec.split(":")[1].split(",")] if spec.startswith("mlp:") else []
    dims = [d] + hidden + [1 if spec == "logistic" else K]
    layers, o = [], 0
    for a, b in zip(dims, dims[1:]):
        layers.append((p[o:o + a * b].reshape(b, a), p[o + a * b:o + a * b + b]))
        o += a * b + b
    assert o == len(p), "model %s: %d parameters expected, checkpoint has %d" % (spec, o, len(p))
    return rep, layers, K


def logits(layers, X):
    A = X.astype(np.float64)
    for i, (W, b) in enumerate(layers):
        A = A @ W.T + b
        if i + 1 < len(layers):
            A = np.maximum(A, 0)
    return A


def printed(x):  # the JSON's %.9g
    return float("%.9g" % x)


def check(rep, layers, K, pre, X, y):
    Z = logits(layers, X)
    if Z.shape[1] == 1:
        z = Z[:, 0]
        pred = (z > 0).astype(int)
        amb = np.flatnonzero(np.abs(z) < 1e-3)
        alt = {i: 1 - pred[i] for i in amb}
    else:
        top = np.argsort(-Z, axis=1, kind="stable")
        pred = top[:, 0].copy()
        rows = np.arange(len(Z))
        amb = np.flatnonzero(Z[rows, top[:, 0]] - Z[rows, top[:, 1]] < 1e-3)
        alt = {i: top[i, 1] for i in amb}
    assert len(amb) <= 12, "%s: %d rows with near-tied logits" % (pre, len(amb))
    labels = list(range(K))
    got = None
    for flips in itertools.product([0, 1], repeat=len(amb)):
        q = pred.copy()
        for i, flip in zip(amb, flips):
            if flip:
                q[i] = alt[i]
        acc = M.accuracy_score(y, q)
        present = sorted(set(y.tolist()) | set(q.tolist()))
        macro = M.f1_score(y, q, labels=present, average="macro", zero_division=0)
        f1 = M.f1_score(y, q, labels=labels, average=None, zero_division=0)
        if (M.confusion_matrix(y, q, labels=labels).tolist() == rep[pre + "_confusion"]
                and rep[pre + "_accuracy"] == printed(acc)
                and rep[pre + "_macro_f1"] == printed(macro)
                and all(a == float("%.6g" % b) for a, b in zip(rep[pre + "_f1"], f1))):
            got = (acc, macro)
            break
    if not got:
        sys.exit("%s: no assignment of the %d near-tied rows reproduces fedsilo's accuracy %s, "
                 "macro F1 %s and confusion matrix; scikit-learn on the numpy predictions: "
                 "accuracy %.9g, macro F1 %.9g" % (
                     pre, len(amb), rep[pre + "_accuracy"], rep[pre + "_macro_f1"],
                     M.accuracy_score(y, pred), M.f1_score(y, pred, average="macro")))
    line = "%s: %d rows, accuracy %s and macro F1 %s = scikit-learn (%d near-tied rows)" % (
        pre, len(y), rep[pre + "_accuracy"], rep[pre + "_macro_f1"], len(amb))
    if Z.shape[1] == 1:
        s = 1 / (1 + np.exp(-Z[:, 0]))
        exact = M.roc_auc_score(y, s)
        gap = np.abs(s[y == 1][:, None] - s[y == 0][None, :])
        bound = 0.5 * np.mean((gap > 0) & (gap < 1e-3)) + np.mean(gap < 1e-6)
        err = abs(rep[pre + "_auc"] - exact)
        if err > bound + 5e-10:
            sys.exit("%s: AUC %s vs roc_auc_score %.9g: error %.3g > bound %.3g" % (
                pre, rep[pre + "_auc"], exact, err, bound))
        line += "; AUC %s vs roc_auc_score %.9g (|diff| %.2g <= bound %.2g)" % (
            rep[pre + "_auc"], exact, err, bound)
    print(line)


args = sys.argv[1:]
while args:
    group = args[:args.index("--")] if "--" in args else args
    args = args[len(group) + 1:]
    run, test, shards = group[0], group[1], group[2:]
    rep, layers, K = load(run)
    f = h5py.File(test, "r")
    check(rep, layers, K, "test", np.array(f["X"]), np.array(f["y"]))
    if shards:
        X = np.concatenate([np.array(h5py.File(s, "r")["validation/X"]) for s in shards])
        y = np.concatenate([np.array(h5py.File(s, "r")["validation/y"]) for s in shards])
        check(rep, layers, K, "val", X, y)
