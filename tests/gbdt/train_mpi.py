"""train_mpi.py - helpers of tests/gbdt/train_mpi.sh (run with /usr/bin/python3).

  train_mpi.py data DIR
      sklearn's breast cancer (569 x 30), rows shuffled with seed 3: 420
      training rows DIR/train.csv, 149 test rows DIR/test.csv (raw features,
      label 0/1).
  train_mpi.py credit CREDIT.csv DIR
      R modeldata's credit_data as written by write.csv, rows shuffled with
      seed 5: three quarters to DIR/train.csv, the rest to DIR/test.csv (raw
      cells: categories as text, NA for a missing cell).
  train_mpi.py pool DIR SHARD...
      the shards' training rows pooled into DIR/pooled.fsgb and DIR/test.h5
      into DIR/test.fsgb (the inputs of bench/gbdt_bench, the same engine in
      one process).
  train_mpi.py auc DIR PREDS.csv COLUMN TREES DEPTH ETA BINS
      ROC AUC of fedsilo's predictions (column COLUMN of `fedsilo predict`,
      the probability of class 1: p(1), p(good))
      on the test rows against xgboost.train(tree_method='hist') with the
      same trees, depth, eta and bins on the pooled training rows; exit 1
      when |difference| > 0.005.
  train_mpi.py xgbload DIR PREDS.csv COLUMN MODEL.json
      MODEL.json (fedsilo export --format xgboost) loaded by
      xgboost.Booster predicts the test rows as fedsilo predict did: exit 1
      when the max abs difference of P(y = 1) exceeds 1e-5.
"""
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbdt_data as gd  # noqa: E402


def read_h5(path):
    import h5py
    with h5py.File(path, "r") as h:
        return h["X"][:], h["y"][:]


def cmd_data(out):
    X, y = gd.breast_cancer()
    perm = np.random.RandomState(3).permutation(len(y))
    for name, rows in (("train", perm[:420]), ("test", perm[420:])):
        with open(os.path.join(out, name + ".csv"), "w") as f:
            f.write(",".join("f%d" % j for j in range(X.shape[1])) + ",label\n")
            for i in rows:
                f.write(",".join("%.9g" % v for v in X[i]) + ",%d\n" % y[i])


def cmd_credit(src, out):
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    perm = np.random.RandomState(5).permutation(len(rows) - 1) + 1
    ntest = (len(rows) - 1) // 4
    for name, idx in (("test", perm[:ntest]), ("train", perm[ntest:])):
        with open(os.path.join(out, name + ".csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(rows[0])
            for i in idx:
                w.writerow(rows[i])


def cmd_pool(out, shards):
    parts = [read_h5(s) for s in shards]
    gd.write_table(os.path.join(out, "pooled.fsgb"), np.concatenate([p[0] for p in parts]),
                   np.concatenate([p[1] for p in parts]))
    Xt, yt = read_h5(os.path.join(out, "test.h5"))
    gd.write_table(os.path.join(out, "test.fsgb"), Xt, yt)


def cmd_auc(out, preds, col, trees, depth, eta, bins):
    with open(preds, newline="") as f:
        rows = list(csv.DictReader(f))
    p = np.array([float(r[col]) for r in rows])
    Xt, yt = read_h5(os.path.join(out, "test.h5"))
    if len(p) != len(yt):
        sys.exit("predictions: %d rows, test file %d" % (len(p), len(yt)))
    shards = sorted(f for f in os.listdir(os.path.join(out, "shards")) if f.endswith(".h5"))
    parts = [read_h5(os.path.join(out, "shards", s)) for s in shards]
    X, y = np.concatenate([q[0] for q in parts]), np.concatenate([q[1] for q in parts])
    params = {"objective": "binary:logistic", "trees": trees, "max_depth": depth, "eta": eta,
              "max_bins": bins}
    _, px, _ = gd.run_xgboost(X, y, Xt, params)
    a, b = gd.auc(yt, p), gd.auc(yt, px)
    print("test ROC AUC: fedsilo %.6f  xgboost hist %.6f  difference %+.6f" % (a, b, a - b))
    sys.exit(0 if abs(a - b) <= 0.005 else 1)


def xgb_predict(out, model):
    """xgboost.Booster's predictions of DIR/test.h5 from the exported MODEL.json."""
    import xgboost as xgb
    Xt, _ = read_h5(os.path.join(out, "test.h5"))
    bst = xgb.Booster(model_file=model)   # names: the export's (the schema's), if any
    return bst.predict(xgb.DMatrix(Xt, missing=np.nan, feature_names=bst.feature_names))


def cmd_xgbload(out, preds, col, model):
    with open(preds, newline="") as f:
        p = np.array([float(r[col]) for r in csv.DictReader(f)])
    px = xgb_predict(out, model)
    diff = float(np.max(np.abs(px - p)))
    print("exported model in xgboost: max |p - p_fedsilo| = %.3g over %d rows" % (diff, len(p)))
    sys.exit(0 if diff <= 1e-5 else 1)


if __name__ == "__main__":
    c = sys.argv[1]
    if c == "data":
        cmd_data(sys.argv[2])
    elif c == "credit":
        cmd_credit(sys.argv[2], sys.argv[3])
    elif c == "pool":
        cmd_pool(sys.argv[2], sys.argv[3:])
    elif c == "auc":
        cmd_auc(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
                float(sys.argv[7]), int(sys.argv[8]))
    elif c == "xgbload":
        cmd_xgbload(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit("unknown command " + c)
