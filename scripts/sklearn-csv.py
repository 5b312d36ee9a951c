#!/usr/bin/python3
"""sklearn-csv.py - convert scikit-learn's bundled datasets (shipped by
Debian's python3-sklearn) to headered CSV files for `fedsilo import csv`,
with a fixed-seed train/test split.

Usage:
  scripts/sklearn-csv.py breast-cancer --out DIR [--test-fraction 0.2] [--seed 42]
  scripts/sklearn-csv.py diabetes      --out DIR [--test-fraction 0.2] [--seed 42]

Writes DIR/train.csv and DIR/test.csv (header row, features then a `target`
column) and DIR/split.txt (rows, seed, fraction).  Only the Python standard
library is used, so this runs without scikit-learn installed as a module;
it only needs the data files (default directory below, or --data-dir).

Formats (see sklearn/datasets/_base.py, load_breast_cancer and
load_diabetes):
  breast_cancer.csv: first line "n_samples,n_features,class names...",
    then rows of 30 features and an integer target (0 malignant, 1 benign).
  diabetes_data_raw.csv.gz / diabetes_target.csv.gz: space-separated, no
    header, 10 raw (unscaled) features; target = disease progression.

Split: rows are shuffled with random.Random(seed) and the first
round(test_fraction * n) of the permutation form the test set; both files
keep the original row order otherwise.  The same seed gives the same split
on every machine (Python's Mersenne Twister is portable).
"""
import argparse
import csv
import gzip
import os
import random
import sys

DATA_DIR = "/usr/lib/python3/dist-packages/sklearn/datasets/data"

BREAST_CANCER_NAMES = [
    "mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness",
    "mean compactness", "mean concavity", "mean concave points", "mean symmetry",
    "mean fractal dimension", "radius error", "texture error", "perimeter error", "area error",
    "smoothness error", "compactness error", "concavity error", "concave points error",
    "symmetry error", "fractal dimension error", "worst radius", "worst texture",
    "worst perimeter", "worst area", "worst smoothness", "worst compactness", "worst concavity",
    "worst concave points", "worst symmetry", "worst fractal dimension",
]
DIABETES_NAMES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def load_breast_cancer(data_dir):
    path = os.path.join(data_dir, "breast_cancer.csv")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    n, d = int(rows[0][0]), int(rows[0][1])
    body = rows[1:]
    if len(body) != n or any(len(r) != d + 1 for r in body) or d != len(BREAST_CANCER_NAMES):
        sys.exit(f"{path}: expected {n} rows of {d} features + target")
    names = [s.replace(" ", "_") for s in BREAST_CANCER_NAMES]
    return names, [[r[j] for j in range(d)] + [str(int(r[d]))] for r in body]


def load_diabetes(data_dir):
    xp = os.path.join(data_dir, "diabetes_data_raw.csv.gz")
    yp = os.path.join(data_dir, "diabetes_target.csv.gz")
    with gzip.open(xp, "rt") as f:
        X = [line.split() for line in f if line.strip()]
    with gzip.open(yp, "rt") as f:
        y = [line.split()[0] for line in f if line.strip()]
    if len(X) != len(y) or any(len(r) != len(DIABETES_NAMES) for r in X):
        sys.exit(f"{xp}: expected rows of {len(DIABETES_NAMES)} features matching {yp}")
    # Targets are written as 1.510000000000000000e+02: keep them exact but short.
    return list(DIABETES_NAMES), [r + [repr(float(t))] for r, t in zip(X, y)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", choices=["breast-cancer", "diabetes"])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--data-dir", default=DATA_DIR)
    a = ap.parse_args()
    if not 0 <= a.test_fraction < 1:
        sys.exit("--test-fraction must be in [0, 1)")
    load = load_breast_cancer if a.dataset == "breast-cancer" else load_diabetes
    names, rows = load(a.data_dir)
    n = len(rows)
    perm = list(range(n))
    random.Random(a.seed).shuffle(perm)
    ntest = round(a.test_fraction * n)
    test_idx = set(perm[:ntest])
    os.makedirs(a.out, exist_ok=True)
    for part, keep in (("train", lambda i: i not in test_idx), ("test", lambda i: i in test_idx)):
        with open(os.path.join(a.out, part + ".csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names + ["target"])
            for i in range(n):
                if keep(i):
                    w.writerow(rows[i])
    with open(os.path.join(a.out, "split.txt"), "w") as f:
        f.write(f"dataset {a.dataset}\nrows {n}\ntrain {n - ntest}\ntest {ntest}\n"
                f"seed {a.seed}\ntest_fraction {a.test_fraction}\n")
    print(f"{a.dataset}: {n} rows -> {a.out}/train.csv ({n - ntest}), {a.out}/test.csv ({ntest})")


if __name__ == "__main__":
    main()
