#!/usr/bin/python3
"""gbdt_bench.py - wall time of fedsilo's GBDT engine against xgboost's `hist`
on the same pooled data, in the same run; prints ratios, never fails on a
time.

Data (synthetic but tabular-looking, seeded): ROWS x 32 features: 8 Gaussian
informative, 4 heavy-tailed (lognormal, 2 informative), 4 counts (Poisson),
4 binary flags, 12 pure noise; the label is Bernoulli(sigmoid(f(x))) with
interactions and thresholds; 5% of the cells are missing (NaN).  The same
file is read by both engines; AUC on a held-out 10% is printed for both so a
fast-but-wrong engine would show.

Runners (--runner): `local` runs bench/gbdt_bench (one process, the engine
with --parties P simulated institutions summed in-process, through
gbdt_data.run_engine); the 4-institution MPI version (`mpirun -np 4 fedsilo
train --model gbdt`) plugs in as another runner returning (info, test
predictions).

Timing: wall seconds and CPU seconds (all threads) of training including
the binning (fedsilo's two bin passes; xgboost's DMatrix construction),
data loading excluded.  With --repeat N every engine runs N times,
interleaved, and the fastest run of each counts (the machine is shared, so
single runs are noisy).  Ratios fedsilo/xgboost: wall against every
nthread, and CPU against nthread=1 (the work done, least sensitive to
other load).

usage: gbdt_bench.py --bench PATH/TO/gbdt_bench [--rows N] [--trees T]
                     [--max-depth D] [--parties P] [--threads 2,1] [--repeat N]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gbdt"))
from gbdt_data import auc, run_engine, run_xgboost, synthetic, write_table  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", required=True, help="path of the gbdt_bench program")
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--max-depth", type=int, default=6)
    ap.add_argument("--eta", type=float, default=0.3)
    ap.add_argument("--max-bins", type=int, default=256)
    ap.add_argument("--parties", type=int, default=1, help="simulated institutions (local runner)")
    ap.add_argument("--threads", default="2,1", help="xgboost nthread values to measure")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine, fastest counts")
    ap.add_argument("--runner", default="local", choices=["local"])
    args = ap.parse_args()

    X, y = synthetic(args.rows + args.rows // 9)
    ntr = args.rows
    with tempfile.TemporaryDirectory(prefix="gbdt-bench-") as tmp:
        train, test = os.path.join(tmp, "train.bin"), os.path.join(tmp, "test.bin")
        write_table(train, X[:ntr], y[:ntr])
        write_table(test, X[ntr:], y[ntr:])
        print(f"data: {ntr} rows x {X.shape[1]} features, 5% missing; {args.trees} trees, "
              f"depth {args.max_depth}, eta {args.eta}, {args.max_bins} bins")
        params = {"objective": "binary:logistic", "trees": args.trees,
                  "max_depth": args.max_depth, "eta": args.eta, "max_bins": args.max_bins}
        threads = [int(t) for t in args.threads.split(",") if t]
        runs = {"fedsilo": []}
        runs.update({th: [] for th in threads})
        for rep in range(args.repeat):
            info, pf = run_engine(args.bench, train, test, params, tmp, parties=args.parties)
            runs["fedsilo"].append((info["seconds"], info["cpu_seconds"]))
            print(f"  run {rep + 1}: fedsilo {info['seconds']:.2f} s wall, "
                  f"{info['cpu_seconds']:.2f} s cpu (bins {info['bin_seconds']:.2f} s), "
                  f"test AUC {auc(y[ntr:], pf):.4f}")
            for th in threads:
                secs, px, cpu = run_xgboost(X[:ntr], y[:ntr], X[ntr:], params, nthread=th)
                runs[th].append((secs, cpu))
                print(f"  run {rep + 1}: xgboost nthread={th} {secs:.2f} s wall, {cpu:.2f} s "
                      f"cpu, test AUC {auc(y[ntr:], px):.4f}")
        best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
        fw, fc = best["fedsilo"]
        print(f"fedsilo ({args.runner}, {args.parties} institution(s), 1 thread): {fw:.2f} s "
              f"wall, {fc:.2f} s cpu (fastest of {args.repeat})")
        for th in threads:
            xw, xc = best[th]
            line = (f"xgboost hist nthread={th}: {xw:.2f} s wall, {xc:.2f} s cpu; "
                    f"ratio fedsilo/xgboost wall = {fw / xw:.2f}x")
            if th == 1:
                line += f", cpu = {fc / xc:.2f}x"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
