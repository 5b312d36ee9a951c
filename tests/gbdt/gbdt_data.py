"""gbdt_data.py - shared helpers of the GBDT tests and benchmark (imported by
tests/gbdt/export.py, tests/gbdt/quality.py and bench/gbdt_bench.py; run
with /usr/bin/python3, which has numpy, scikit-learn and xgboost 1.7).

- write_table(path, X, y): the "FSGB" file that bench/gbdt_bench reads.
- run_engine(bench, train, test, params, ...): train fedsilo's engine through
  bench/gbdt_bench and return (info dict, test predictions).  This is the
  runner that the MPI tests replace with `mpirun fedsilo train --model gbdt`.
- run_xgboost(...): xgboost.train(tree_method='hist') with the same
  parameters, returns (seconds, predictions, cpu seconds).
- auc(y, p), accuracy(y, p): test metrics.
- datasets: breast_cancer(), credit_data(), fashion_mnist(), synthetic(),
  small_values().
"""
import csv
import gzip
import io
import json
import os
import subprocess
import time

import numpy as np

SKLEARN_DATA = os.environ.get("FS_SKLEARN_DATA",
                              "/usr/lib/python3/dist-packages/sklearn/datasets/data")
FMNIST_DIR = os.environ.get("FS_FMNIST_DIR", "/usr/share/datasets/fashion-mnist")


def write_table(path, X, y):
    """FSGB file: b"FSGBDAT1", uint64 n, uint64 d, float32 X[n][d], float32 y[n]."""
    X = np.asarray(X, dtype="<f4")
    with open(path, "wb") as f:
        f.write(b"FSGBDAT1")
        f.write(np.array(X.shape, dtype="<u8").tobytes())
        f.write(np.ascontiguousarray(X).tobytes())
        f.write(np.ascontiguousarray(y, dtype="<f4").tobytes())


def auc(y, p):
    """ROC AUC, ties counted one half (Mann-Whitney U)."""
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="mergesort")
    ps = p[order]
    ranks = np.empty(len(p))
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and ps[j + 1] == ps[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    pos = y == 1
    npos, nneg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - npos * (npos + 1) / 2.0) / (npos * nneg))


def accuracy(y, prob):
    return float(np.mean(np.argmax(prob, axis=1) == np.asarray(y)))


# Engine flag -> xgboost parameter.
XGB_NAMES = {"max_depth": "max_depth", "eta": "eta", "max_bins": "max_bin", "lambda": "lambda",
             "gamma": "gamma", "min_child_weight": "min_child_weight", "subsample": "subsample",
             "colsample": "colsample_bytree", "num_class": "num_class", "base_score": "base_score"}


def run_engine(bench, train, test, params, workdir, parties=1, skew=0.0, extra=()):
    """Train on the FSGB file `train`, predict `test`; params: objective,
    trees and XGB_NAMES keys.  Returns (info, predictions)."""
    pred = os.path.join(workdir, "pred.f32")
    cmd = [bench, "--train", train, "--test", test, "--pred", pred,
           "--parties", str(parties), "--skew", str(skew)]
    for k, v in params.items():
        cmd += ["--" + k.replace("_", "-"), str(v)]
    cmd += list(extra)
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    info = json.loads(out.stdout)
    p = np.fromfile(pred, dtype="<f4")
    k = int(params.get("num_class", 0) or 0)
    if k and params.get("objective") == "multi:softprob":
        p = p.reshape(-1, k)
    return info, p


def run_xgboost(Xtr, ytr, Xte, params, nthread=2):
    """xgboost.train(tree_method='hist') with the engine's params.  Timed
    (wall and CPU seconds of this process, all threads): DMatrix
    construction (xgboost's binning) and training."""
    import xgboost as xgb
    xp = {"tree_method": "hist", "objective": params["objective"], "nthread": nthread, "seed": 0}
    for k, v in params.items():
        if k in XGB_NAMES:
            xp[XGB_NAMES[k]] = v
    t0, c0 = time.monotonic(), time.process_time()
    dtr = xgb.DMatrix(Xtr, ytr, missing=np.nan, nthread=nthread)
    bst = xgb.train(xp, dtr, int(params["trees"]))
    secs, cpu = time.monotonic() - t0, time.process_time() - c0
    return secs, bst.predict(xgb.DMatrix(Xte, missing=np.nan, nthread=nthread)), cpu


def split_rows(n, test_fraction, seed):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    nte = int(round(test_fraction * n))
    return np.sort(perm[nte:]), np.sort(perm[:nte])


def breast_cancer():
    """sklearn's breast cancer (569 x 30, target 1 = benign)."""
    with open(os.path.join(SKLEARN_DATA, "breast_cancer.csv"), newline="") as f:
        rows = list(csv.reader(f))
    D = np.array(rows[1:], dtype=np.float64)
    return D[:, :30].astype(np.float32), D[:, 30].astype(np.float32)


def credit_data():
    """R modeldata's credit_data (4454 rows; Status bad = 1): numeric columns
    as they are (NA -> NaN), categorical columns one-hot encoded with a
    missing category giving NaN in all of its indicator columns."""
    r = subprocess.run(["Rscript", "-e", "suppressMessages(library(modeldata)); data(credit_data); "
                        "write.csv(credit_data, stdout(), row.names = FALSE, na = '')"],
                       capture_output=True, text=True, check=True)
    rows = list(csv.reader(io.StringIO(r.stdout)))
    head, body = rows[0], rows[1:]
    cols, names = [], []
    y = np.array([1.0 if row[head.index("Status")] == "bad" else 0.0 for row in body], np.float32)
    for j, name in enumerate(head):
        if name == "Status":
            continue
        vals = [row[j] for row in body]
        try:
            cols.append(np.array([float(v) if v != "" else np.nan for v in vals]))
            names.append(name)
        except ValueError:
            cats = sorted({v for v in vals if v != ""})
            for c in cats:
                cols.append(np.array([np.nan if v == "" else float(v == c) for v in vals]))
                names.append(f"{name}={c}")
    return np.stack(cols, axis=1).astype(np.float32), y, names


def _idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[:4], "big") != magic:
        raise ValueError(f"{path}: bad IDX magic")
    if magic == 0x803:
        n, r, c = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, r * c)
    return np.frombuffer(data, np.uint8, offset=8)


def fashion_mnist(ntrain, ntest):
    """First ntrain training and ntest test images of Fashion-MNIST, pixels
    / 255 as float32 (what `fedsilo import idx` stores)."""
    X = _idx(os.path.join(FMNIST_DIR, "train-images-idx3-ubyte.gz"), 0x803)[:ntrain]
    y = _idx(os.path.join(FMNIST_DIR, "train-labels-idx1-ubyte.gz"), 0x801)[:ntrain]
    Xt = _idx(os.path.join(FMNIST_DIR, "t10k-images-idx3-ubyte.gz"), 0x803)[:ntest]
    yt = _idx(os.path.join(FMNIST_DIR, "t10k-labels-idx1-ubyte.gz"), 0x801)[:ntest]
    f = lambda a: (a.astype(np.float32) / np.float32(255.0))
    return f(X), y.astype(np.float32), f(Xt), yt.astype(np.float32)


def synthetic(rows, seed=7, missing=0.05):
    """rows x 32 tabular-looking features: 8 Gaussian informative, 4
    heavy-tailed (lognormal, 2 informative), 4 counts (Poisson), 4 binary
    flags, 12 pure noise; label Bernoulli(sigmoid(f(x))) with interactions
    and thresholds; a fraction `missing` of the cells NaN."""
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(rows, 8))
    heavy = np.exp(rng.normal(size=(rows, 4)) * 1.5)
    counts = rng.poisson(3.0, size=(rows, 4)).astype(np.float64)
    flags = (rng.random((rows, 4)) < np.array([0.5, 0.2, 0.1, 0.7])).astype(np.float64)
    noise = np.concatenate([rng.normal(size=(rows, 6)), rng.random((rows, 6)) * 100], axis=1)
    f = (g[:, 0] + 0.8 * g[:, 1] - 0.6 * g[:, 2] + 0.5 * g[:, 3] * g[:, 4]
         + 0.7 * (g[:, 5] > 0.5) - 0.4 * np.abs(g[:, 6]) + 0.3 * g[:, 7] ** 2
         + 0.5 * np.log(heavy[:, 0]) - 0.3 * (heavy[:, 1] > 3)
         + 0.2 * counts[:, 0] - 0.15 * counts[:, 1] + 0.8 * flags[:, 0] - 0.6 * flags[:, 1]
         - 0.5)
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-f))).astype(np.float32)
    X = np.concatenate([g, heavy, counts, flags, noise], axis=1).astype(np.float32)
    X[rng.random(X.shape) < missing] = np.nan
    return X, y


def small_values(rows, seed=3, missing=0.1):
    """rows x 7 features with few distinct values (4 integer features 0..9,
    3 binary flags), a fraction `missing` NaN, and three labels from one
    score f: binary (Bernoulli(sigmoid f)), 4 classes (f + noise cut at
    -1, 0, 1) and a target in [0, 100].  Both engines take every distinct
    value as a bin edge here, so their trees must agree."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.integers(0, 10, (rows, 4)), rng.random((rows, 3)) < 0.3],
                       axis=1).astype(np.float32)
    f = 0.3 * X[:, 0] - 0.2 * X[:, 1] + X[:, 4] - 0.8 * X[:, 5] + 0.1 * X[:, 2] * X[:, 3] - 1
    X[rng.random(X.shape) < missing] = np.nan
    yb = (rng.random(rows) < 1 / (1 + np.exp(-f))).astype(np.float32)
    ym = np.digitize(f + rng.normal(size=rows) * 0.5, [-1, 0, 1]).astype(np.float32)
    yr = np.clip(50 + 10 * f + rng.normal(size=rows), 0, 100).astype(np.float32)
    return X, yb, ym, yr
