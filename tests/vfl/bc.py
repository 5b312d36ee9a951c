"""bc.py SKDIR OUT.csv START STEP COUNT NFEAT - a small standardized slice of
scikit-learn's breast-cancer CSV for the vertical-training tests: rows
START, START + STEP, ... (COUNT of them, or all with COUNT 0), the first
NFEAT features standardized over all 569 rows, and the label; a header
f0,...,label."""
import sys
import numpy as np

sk, out, start, step, count, nfeat = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
a = np.loadtxt(sk + "/breast_cancer.csv", delimiter=",", skiprows=1)
X, y = a[:, :nfeat], a[:, 30].astype(int)
X = (X - X.mean(0)) / X.std(0)
rows = np.arange(start, len(y), step)
if count:
    rows = rows[:count]
with open(out, "w") as f:
    f.write(",".join("f%d" % j for j in range(nfeat)) + ",label\n")
    for i in rows:
        f.write(",".join("%.9g" % v for v in X[i]) + ",%d\n" % y[i])
