"""regression_mpi.py - helpers of tests/gbdt/regression_mpi.sh (run with /usr/bin/python3).

  regression_mpi.py data DIR
      sklearn's diabetes (442 x 10 raw features, target 25..346), rows
      shuffled with seed 3: 110 test rows DIR/test.csv, and the other 332
      training rows sorted by target and cut into 4 equal runs
      DIR/site-0.csv .. DIR/site-3.csv (target skew: site 0 holds the lowest
      targets, site 3 the highest), and the consortium schema DIR/schema.ini
      (label column `target`, type numeric, public range 0:400); the same
      rows with the targets times 1000 in DIR/big/ (no schema).
  regression_mpi.py rmse DIR PREDS.csv TREES DEPTH ETA BINS BASE
      test RMSE of fedsilo's predictions (column `prediction` of `fedsilo
      predict`) against xgboost.train(tree_method='hist',
      objective='reg:squarederror', base_score=BASE) with the same trees,
      depth, eta and bins on the pooled training rows (DIR/shards/*.h5);
      exit 1 when they differ by more than 1% of xgboost's.
  regression_mpi.py xgbload DIR PREDS.csv MODEL.json
      MODEL.json (fedsilo export --format xgboost) loaded by xgboost.Booster
      predicts the test rows as fedsilo predict did: exit 1 when some
      |difference| exceeds 1e-5 (relative to max(1, |prediction|): a
      float32 prediction near 300 has a spacing of 3e-5).
"""
import csv
import gzip
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbdt_data as gd  # noqa: E402
from train_mpi import read_h5, xgb_predict  # noqa: E402

NAMES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
SCHEMA = """[schema]
name = diabetes-demo

""" + "".join("[column %s]\nkind = numeric\n\n" % n for n in NAMES) + """[column target]
kind = label
type = numeric
range = 0:400
"""


def diabetes():
    with gzip.open(os.path.join(gd.SKLEARN_DATA, "diabetes_data_raw.csv.gz"), "rt") as f:
        X = np.loadtxt(f)
    with gzip.open(os.path.join(gd.SKLEARN_DATA, "diabetes_target.csv.gz"), "rt") as f:
        y = np.loadtxt(f)
    return X, y


def write_csv(path, X, y):
    with open(path, "w") as f:
        f.write(",".join(NAMES) + ",target\n")
        for xi, yi in zip(X, y):
            f.write(",".join("%.9g" % v for v in xi) + ",%.9g\n" % yi)


def cmd_data(out):
    X, y = diabetes()
    perm = np.random.RandomState(3).permutation(len(y))
    te, tr = perm[:110], perm[110:]
    write_csv(os.path.join(out, "test.csv"), X[te], y[te])
    tr = tr[np.argsort(y[tr], kind="mergesort")]
    for k, rows in enumerate(np.array_split(tr, 4)):
        write_csv(os.path.join(out, "site-%d.csv" % k), X[rows], y[rows])
    with open(os.path.join(out, "schema.ini"), "w") as f:
        f.write(SCHEMA)
    os.makedirs(os.path.join(out, "big"), exist_ok=True)   # the targets in thousandths
    write_csv(os.path.join(out, "big", "test.csv"), X[te], 1000 * y[te])
    for k, rows in enumerate(np.array_split(tr, 4)):
        write_csv(os.path.join(out, "big", "site-%d.csv" % k), X[rows], 1000 * y[rows])


def predictions(path):
    with open(path, newline="") as f:
        return np.array([float(r["prediction"]) for r in csv.DictReader(f)])


def cmd_rmse(out, preds, trees, depth, eta, bins, base):
    p = predictions(preds)
    Xt, yt = read_h5(os.path.join(out, "test.h5"))
    if len(p) != len(yt):
        sys.exit("predictions: %d rows, test file %d" % (len(p), len(yt)))
    shards = sorted(f for f in os.listdir(os.path.join(out, "shards")) if f.endswith(".h5"))
    parts = [read_h5(os.path.join(out, "shards", s)) for s in shards]
    X, y = np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts])
    params = {"objective": "reg:squarederror", "trees": trees, "max_depth": depth, "eta": eta,
              "max_bins": bins, "base_score": base}
    _, px, _ = gd.run_xgboost(X, y, Xt, params)
    a = float(np.sqrt(np.mean((p - yt) ** 2)))
    b = float(np.sqrt(np.mean((px - yt) ** 2)))
    print("test RMSE: fedsilo %.4f  xgboost hist %.4f  ratio %.5f" % (a, b, a / b))
    sys.exit(0 if abs(a - b) <= 0.01 * b else 1)


def cmd_xgbload(out, preds, model):
    p = predictions(preds)
    px = xgb_predict(out, model)
    rel = float(np.max(np.abs(px - p) / np.maximum(1.0, np.abs(p))))
    print("exported model in xgboost: max |p - p_fedsilo| / max(1, |p|) = %.3g over %d rows"
          % (rel, len(p)))
    sys.exit(0 if rel <= 1e-5 else 1)


if __name__ == "__main__":
    c = sys.argv[1]
    if c == "data":
        cmd_data(sys.argv[2])
    elif c == "rmse":
        cmd_rmse(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                 float(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8]))
    elif c == "xgbload":
        cmd_xgbload(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown command " + c)
