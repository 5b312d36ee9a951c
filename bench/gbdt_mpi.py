#!/usr/bin/python3
"""gbdt_mpi.py - `mpirun -np 4 fedsilo train --model gbdt` (secure and plain
aggregation) against xgboost's `hist` on the pooled rows, in the same run;
prints ratios, never fails on a time.

Data: gbdt_data.synthetic (ROWS x 32 tabular-looking features, seeded),
without missing cells (shards of `fedsilo import csv` without a schema hold
no NaN), dealt to 4 institution shards with label skew (half of the rows go
to the institution of their class, the rest round-robin), plus a held-out
tenth as the --test file.  The shards are written with h5py in the dataset
layout of a `fedsilo import csv` template (docs/formats.md).

Timing: fedsilo's training time is the sum of the metrics lines' `seconds`
(every round from the first bin pass to the checkpoint; data loading, MPI
start-up and key setup excluded), and the wall time of the whole mpirun is
printed next to it; xgboost's is DMatrix construction (its binning) plus
xgb.train with nthread=2 (and 1), data loading excluded.  --repeat N runs
every engine N times, interleaved; the fastest counts.

usage: gbdt_mpi.py --fedsilo PATH/TO/fedsilo [--rows N] [--trees T]
                   [--max-depth D] [--np 4] [--repeat N] [--mpirun CMD]
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gbdt"))
from gbdt_data import auc, run_xgboost, synthetic  # noqa: E402


def write_shards(fedsilo, tmp, X, y, nsilos):
    import h5py
    d = X.shape[1]
    tpl = os.path.join(tmp, "tpl.csv")
    with open(tpl, "w") as f:
        f.write(",".join("f%d" % j for j in range(d)) + ",label\n")
        for i in range(20):
            f.write(",".join("%.6g" % v for v in X[i]) + ",%d\n" % (i % 2))
    subprocess.run([fedsilo, "import", "csv", "--input", tpl, "--label", "label", "--out",
                    os.path.join(tmp, "tpl.h5")], check=True, capture_output=True)

    def put(path, rows, k):
        with h5py.File(os.path.join(tmp, "tpl.h5"), "r") as t, h5py.File(path, "w") as f:
            for a, v in t.attrs.items():
                f.attrs[a] = v
            f.attrs["shard_index"], f.attrs["num_shards"] = k, nsilos
            f.attrs["institution"] = "site-%d" % k
            f.create_dataset("X", data=X[rows].astype("<f4"))
            f.create_dataset("y", data=y[rows].astype("<i4"))
            for name in ("feature_names", "class_names"):
                t.copy(name, f)

    return put


def run_fedsilo(args, shards, test, out, agg):
    cmd = shlex.split(args.mpirun) + ["-np", str(args.np), args.fedsilo, "train", "--model", "gbdt",
           "--trees", str(args.trees), "--max-depth", str(args.max_depth), "--eta", str(args.eta),
           "--max-bins", str(args.max_bins), "--data", shards, "--test", test,
           "--eval-every", str(args.trees), "--checkpoint-every", "0", "--aggregation", agg,
           "--insecure-no-auth", "yes", "--quiet", "--out", out]
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    lines = [json.loads(x) for x in open(os.path.join(out, "metrics.jsonl"))]
    return sum(x["seconds"] for x in lines), wall, lines[-1].get("test_auc"), lines[-1]["model_hash"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fedsilo", required=True)
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--max-depth", type=int, default=6)
    ap.add_argument("--eta", type=float, default=0.3)
    ap.add_argument("--max-bins", type=int, default=256)
    ap.add_argument("--np", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--mpirun", default="mpirun --oversubscribe")
    args = ap.parse_args()
    X, y = synthetic(args.rows + args.rows // 9, missing=0.0)
    ntr = args.rows
    rng = np.random.default_rng(1)
    skew = rng.random(ntr) < 0.5
    site = np.where(skew, y[:ntr].astype(int) % args.np, np.arange(ntr) % args.np)
    with tempfile.TemporaryDirectory(prefix="gbdt-mpi-") as tmp:
        put = write_shards(args.fedsilo, tmp, X, y, args.np)
        for k in range(args.np):
            put(os.path.join(tmp, "site-%d.h5" % k), np.flatnonzero(site == k), k)
        put(os.path.join(tmp, "test.h5"), np.arange(ntr, len(y)), 0)
        print(f"data: {ntr} rows x {X.shape[1]} features over {args.np} institutions (label "
              f"skew), {len(y) - ntr} test rows; {args.trees} trees, depth {args.max_depth}, "
              f"eta {args.eta}, {args.max_bins} bins; load: {os.getloadavg()[0]:.2f}")
        params = {"objective": "binary:logistic", "trees": args.trees, "max_depth": args.max_depth,
                  "eta": args.eta, "max_bins": args.max_bins}
        best = {}
        for rep in range(args.repeat):
            for agg in ("secure", "plain"):
                r = run_fedsilo(args, os.path.join(tmp, "site-%d.h5"), os.path.join(tmp, "test.h5"),
                                os.path.join(tmp, "run-%s-%d" % (agg, rep)), agg)
                print(f"  fedsilo {agg}: training {r[0]:.2f} s, mpirun wall {r[1]:.2f} s, test AUC "
                      f"{r[2]:.4f} (1000-bin), model {r[3]}")
                if agg not in best or r[0] < best[agg][0]:
                    best[agg] = r
            for nt in (int(t) for t in args.threads.split(",")):
                secs, p, _ = run_xgboost(X[:ntr], y[:ntr], X[ntr:], params, nthread=nt)
                print(f"  xgboost hist nthread={nt}: {secs:.2f} s, test AUC {auc(y[ntr:], p):.4f}")
                key = "xgb%d" % nt
                if key not in best or secs < best[key][0]:
                    best[key] = (secs,)
        if best["secure"][3] != best["plain"][3]:
            print("  WARNING: secure and plain models differ")
        print(f"ratio secure / plain (training): {best['secure'][0] / best['plain'][0]:.2f}x")
        for nt in (int(t) for t in args.threads.split(",")):
            print(f"ratio fedsilo secure / xgboost nthread={nt}: "
                  f"{best['secure'][0] / best['xgb%d' % nt][0]:.2f}x (training), "
                  f"{best['secure'][1] / best['xgb%d' % nt][0]:.2f}x (mpirun wall)")


if __name__ == "__main__":
    main()
