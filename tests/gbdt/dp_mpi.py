#!/usr/bin/python3
"""Helpers of tests/gbdt/dp_mpi.sh (differential privacy of the GBDT level sums).

  gen DIR            synthetic table (seeded numpy): train.csv, test.csv, schema.ini (every
                     numeric column with a public range), norange.ini (column x2 without one)
  noise DIR N T Z F H  the noise of level 0 of trees 0..T-1: the sum dumped by rank 0 minus the
                     exact vectors of the N ranks (FEDSILO_GBDT_DP_DUMP); its variance against
                     the calibration N v, v = (Z S)^2 / H, S^2 = (1 + F)(2^40 + 2^36)
                     (20 fractional bits, |g| <= 1, h <= 1/4); the old all-N calibration
                     (total variance (Z S)^2) must be rejected by the same check
  eps RUN Z STEPS D  every metrics line's ddp_epsilon equals the RDP epsilon of round r x STEPS
                     Gaussian mechanisms of multiplier Z at delta D (Opacus' orders and its
                     improved conversion, computed here independently of fedsilo)
  epsof R Z STEPS D  print that epsilon for R rounds
"""
import json
import math
import sys

import numpy as np

ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


def rdp_eps(rounds, z, steps, delta):
    best = math.inf
    for a in ORDERS:
        r = rounds * steps * a / (2.0 * z * z)
        e = r - (math.log(delta) + math.log(a)) / (a - 1.0) + math.log((a - 1.0) / a)
        best = min(best, e)
    return best


def gen(d):
    rng = np.random.default_rng(20261207)
    n = 900
    x0 = rng.normal(0, 1, n)
    x1 = rng.uniform(0, 10, n)
    x2 = rng.exponential(2.0, n)
    x3 = rng.normal(5, 2, n)
    cat = rng.choice(["a", "b", "c"], n)
    f = 1.2 * x0 + 0.3 * (x1 - 5) - 0.4 * (x2 - 2) + (cat == "b") * 1.0
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-f))).astype(int)
    x3m = np.where(rng.uniform(size=n) < 0.1, np.nan, x3)
    def write(path, idx):
        with open(path, "w") as fh:
            fh.write("x0,x1,x2,x3,cat,y\n")
            for i in idx:
                v3 = "" if np.isnan(x3m[i]) else "%.6g" % x3m[i]
                fh.write("%.6g,%.6g,%.6g,%s,%s,%s\n" % (x0[i], x1[i], x2[i], v3, cat[i],
                                                      "yes" if y[i] else "no"))
    write(d + "/train.csv", range(0, 700))
    write(d + "/test.csv", range(700, n))
    ranges = {"x0": "-4:4", "x1": "0:10", "x2": "0:20", "x3": "-5:15"}
    for name, drop in (("schema.ini", None), ("norange.ini", "x2")):
        with open(d + "/" + name, "w") as fh:
            fh.write("[schema]\nmissing = \"\"\n\n[column y]\nkind = label\nclasses = no, yes\n")
            for c in ("x0", "x1", "x2", "x3"):
                fh.write("\n[column %s]\nkind = numeric\n" % c)
                fh.write("impute = %s\n" % ("mean" if c == "x3" else "none"))
                if c != drop:
                    fh.write("range = %s\nout_of_range = clip\n" % ranges[c])
            fh.write("\n[column cat]\nkind = categorical\ncategories = a, b, c\nimpute = none\n")
    # The regression table: the same features, a numeric target with the public
    # range -10:10 (the bound of the gradient m - y under DP).
    t = np.clip(2.0 * f + rng.normal(0, 0.5, n), -10, 10)
    for name, idx in (("train_reg.csv", range(0, 700)), ("test_reg.csv", range(700, n))):
        with open(d + "/" + name, "w") as fh:
            fh.write("x0,x1,x2,x3,cat,t\n")
            for i in idx:
                v3 = "" if np.isnan(x3m[i]) else "%.6g" % x3m[i]
                fh.write("%.6g,%.6g,%.6g,%s,%s,%.6g\n" % (x0[i], x1[i], x2[i], v3, cat[i], t[i]))
    with open(d + "/schema.ini") as fh:
        sch = fh.read()
    sch = sch.replace("[column y]\nkind = label\nclasses = no, yes\n",
                      "[column t]\nkind = label\ntype = numeric\nrange = -10:10\n")
    with open(d + "/schema_reg.ini", "w") as fh:
        fh.write(sch)


def noise(d, nranks, trees, z, nfeat, h):
    s2 = (1 + nfeat) * (2.0 ** 40 + 2.0 ** 36)
    v = z * z * s2 / h
    parts = []
    for t in range(trees):
        tot = np.fromfile("%s/sum-0-%d.u64" % (d, t), dtype="<u8")
        ex = np.zeros_like(tot)
        for r in range(nranks):
            e = np.fromfile("%s/exact-%d-%d.u64" % (d, r, t), dtype="<u8")
            if e.shape != tot.shape:
                sys.exit("tree %d: rank %d dumped %d words, the sum %d" % (t, r, e.size, tot.size))
            if np.any(e[0::3] != 0):
                sys.exit("tree %d: rank %d's count words are not zeroed" % (t, r))
            ex = ex + e                       # mod 2^64
        parts.append((tot - ex).view("<i8").astype(np.float64))
    x = np.concatenate(parts)
    var = float(np.mean(x * x))
    ratio, old = var / (nranks * v), var / (z * z * s2)
    tol = 4.0 * math.sqrt(2.0 / x.size)       # 4 standard errors of a variance estimate
    print("noise: %d samples, variance / (N v) = %.4f (tolerance %.3f), / (z S)^2 = %.4f, "
          "mean / std = %.4f" % (x.size, ratio, tol, old, float(np.mean(x)) / math.sqrt(var)))
    if abs(ratio - 1) > tol:
        sys.exit("the noise variance is not the calibrated N (z S)^2 / H")
    if abs(old - 1) <= tol:
        sys.exit("the check does not tell the all-N calibration apart")
    if abs(float(np.mean(x))) > 4.0 * math.sqrt(var / x.size):
        sys.exit("the noise is not centred")


def eps(run, z, steps, delta):
    lines = [json.loads(l) for l in open(run + "/metrics.jsonl")]
    if not lines:
        sys.exit("no metrics")
    for m in lines:
        want = rdp_eps(m["round"], z, steps, delta)
        got = m.get("ddp_epsilon")
        if got is None or abs(got - want) > 1e-8 * want:
            sys.exit("round %d: ddp_epsilon %s, the accountant's formula gives %.12g"
                     % (m["round"], got, want))
        for k in ("train_loss", "val_loss", "samples"):
            if k in m:
                sys.exit("round %d: %s is released without --dp-public-metrics" % (m["round"], k))
    print("eps: %d rounds, last %.6g" % (len(lines), lines[-1]["ddp_epsilon"]))


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        gen(a[0])
    elif cmd == "noise":
        noise(a[0], int(a[1]), int(a[2]), float(a[3]), int(a[4]), int(a[5]))
    elif cmd == "eps":
        eps(a[0], float(a[1]), int(a[2]), float(a[3]))
    elif cmd == "epsof":
        print("%.12g" % rdp_eps(int(a[0]), float(a[1]), int(a[2]), float(a[3])))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
