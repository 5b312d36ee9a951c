#!/usr/bin/python3
"""export.py - fedsilo's XGBoost JSON export loads in python3-xgboost 1.7 and
predicts what fedsilo predicts: max abs difference <= 1e-5 of the outputs
(probabilities, classes, regression values) and of the raw margins on a
test set with 10% missing values, for binary:logistic (default and custom
base_score, sampling, gamma, lambda, min_child_weight), multi:softprob,
multi:softmax and reg:squarederror; feature names travel with the model.

usage: export.py PATH/TO/gbdt_bench WORKDIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbdt_data import run_engine, write_table  # noqa: E402

TOL = 1e-5


def main():
    bench, work = sys.argv[1], sys.argv[2]
    import xgboost as xgb
    rng = np.random.default_rng(3)
    n, d = 2500, 8
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[:, 3] = np.round(X[:, 3] * 3)                # small integers
    X[:, 4] = (X[:, 4] > 0).astype(np.float32)     # a 0/1 flag
    X[:, 5] = np.exp(X[:, 5] * 3)                  # heavy tail
    f = X[:, 0] + 0.5 * X[:, 1] * X[:, 2] + X[:, 4] - 0.3 * X[:, 3] + 0.2 * np.log(X[:, 5])
    X[rng.random((n, d)) < 0.1] = np.nan
    ybin = (f + rng.normal(size=n) * 0.5 > 0).astype(np.float32)
    ycls = np.digitize(f, [-1, 0, 1]).astype(np.float32)
    yreg = np.clip(f * 10 + 50, 0, 100).astype(np.float32)
    ntr = 2000
    names = [f"feat_{j}" for j in range(d)]
    with open(os.path.join(work, "names.txt"), "w") as fh:
        fh.write("\n".join(names) + "\n")
    base = {"trees": 12, "max_depth": 5, "eta": 0.3}
    cases = [
        ("binary:logistic", ybin, {}),
        ("binary:logistic", ybin, {"base_score": 0.3, "subsample": 0.8, "colsample": 0.6,
                                   "gamma": 0.5, "lambda": 2, "min_child_weight": 3}),
        ("multi:softprob", ycls, {"num_class": 4}),
        ("multi:softmax", ycls, {"num_class": 4}),
        ("reg:squarederror", yreg, {"base_score": 40}),
    ]
    worst = 0.0
    for obj, y, extra in cases:
        params = dict(base, objective=obj, **extra)
        args = ["--label-range", "0:100"] if obj.startswith("reg") else []
        train, test = os.path.join(work, "train.f32"), os.path.join(work, "test.f32")
        write_table(train, X[:ntr], y[:ntr])
        write_table(test, X[ntr:], y[ntr:])
        for margin in (False, True):
            model = os.path.join(work, "model.json")
            info, ours = run_engine(bench, train, test, params, work,
                                    extra=args + ["--json", model, "--names",
                                                  os.path.join(work, "names.txt")]
                                    + (["--margin"] if margin else []))
            bst = xgb.Booster()
            bst.load_model(model)
            if bst.feature_names != names:
                sys.exit(f"FAIL: {obj}: feature names {bst.feature_names} != {names}")
            dm = xgb.DMatrix(X[ntr:], missing=np.nan, feature_names=names)
            theirs = bst.predict(dm, output_margin=margin).reshape(ours.shape)
            diff = float(np.max(np.abs(theirs.astype(np.float64) - ours)))
            worst = max(worst, diff)
            what = "margins" if margin else "outputs"
            print(f"{obj} {extra or ''}: {info['trees']} trees, {what}: max abs diff {diff:.3g}")
            if not diff <= TOL:
                sys.exit(f"FAIL: {obj}: xgboost's {what} differ from fedsilo's by {diff} > {TOL}")
            if int(bst.num_boosted_rounds()) != info["rounds"]:
                sys.exit(f"FAIL: {obj}: xgboost sees {bst.num_boosted_rounds()} rounds")
    print(f"PASS: worst max abs diff {worst:.3g} <= {TOL}")


if __name__ == "__main__":
    main()
