#!/usr/bin/env python3
"""e1_synthetic.py WORKDIR

The red-team review's E1 cases, re-created as synthetic records in the
format of tests/spy/fs_mpispy.c (N = 4, P = 5000 float coordinates, f = 20,
32-bit ring; a 4-value statistics sum in the 64-bit ring; two rounds) and
run through tests/spy/analyze.py.  The old detector passed every case but
"masks removed"; the detector must now pass only the correct masking:

  correct      pairwise masks from secret random seeds (control: PASS)
  removed      no masks at all
  raw_float    the raw float update also sent via a float allreduce
  stats_clear  the statistics sum sent unmasked
  partial      0.9% of the coordinates unmasked on every rank
  public_key   masks keyed by a public constant (two jobs, same inputs)
  nonce_reuse  round 2 reuses the masks of round 1
Exit 0 when every case gets the expected verdict.
"""
import os, struct, subprocess, sys
import numpy as np

N, P, F, NSTAT = 4, 5000, 20, 4
HDR = struct.Struct("<IIQQIiII")
ANALYZE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analyze.py")


def rec(f, kind, dt, arr, idx, call, peer):
    b = np.ascontiguousarray(arr).tobytes()
    count = len(arr) if dt != 4 else len(b)
    f.write(HDR.pack(kind, dt, count, idx, call, peer, np.asarray(arr).itemsize, 0))
    f.write(b)


def masks(seed_of_pair, n, ring, rnd, vid):
    """Pairwise-cancelling masks (n + 1 words: the canary too) of every rank."""
    dt = np.uint32 if ring == 32 else np.uint64
    out = [np.zeros(n + 1, np.uint64) for _ in range(N)]
    for i in range(N):
        for j in range(i + 1, N):
            g = np.random.default_rng([seed_of_pair(i, j), rnd, vid])
            m = g.integers(0, 2 ** 63, n + 1, dtype=np.uint64) * np.uint64(2) + g.integers(0, 2, n + 1, dtype=np.uint64)
            out[i] += m
            out[j] -= m
    return [m.astype(dt) for m in out]


def job(d, case, seed_of_pair, data_seed=5):
    os.makedirs(d, exist_ok=True)
    g = np.random.default_rng(data_seed)
    files = [open(os.path.join(d, "spy-%d.bin" % k), "wb") for k in range(N)]
    for k in range(N):
        rec(files[k], 14, 4, np.frombuffer(os.urandom(32), np.uint8), 0, 0, -1)
    first = {}
    for rnd in (1, 2):
        for vid, ring, n in ((2, 32, P), (3, 64, NSTAT)):
            if ring == 32:
                raw = [g.normal(0, 0.05, n).astype(np.float32) for _ in range(N)]
                enc = [(np.rint(x.astype(np.float64) * 2.0 ** F).astype(np.int64) & 0xFFFFFFFF).astype(np.uint32) for x in raw]
            else:
                raw = [np.concatenate([[float(g.integers(200, 400))], g.normal(50, 10, n - 1)]) for _ in range(N)]
                enc = [np.rint(x * 2.0 ** 29).astype(np.int64).view(np.uint64) for x in raw]
            dt = np.uint32 if ring == 32 else np.uint64
            mk = masks(seed_of_pair, n, ring, rnd, vid)
            if case == "nonce_reuse":
                first.setdefault(vid, mk)
                mk = first[vid]
            contrib = []
            for k in range(N):
                c = np.concatenate([enc[k], [0, 0]]).astype(dt)
                c[:n + 1] += mk[k]
                if case == "removed" or (case == "stats_clear" and ring == 64):
                    c[:n] = enc[k]
                if case == "partial" and ring == 32:
                    c[:n:111] = enc[k][::111]
                contrib.append(c)
            total = np.zeros(n + 2, np.uint64)
            for c in contrib:
                total += c.astype(np.uint64)
            total = total.astype(dt)
            for k in range(N):
                f = files[k]
                rec(f, 11, 0 if ring == 32 else 3, raw[k], rnd, vid, ring)
                rec(f, 12, 1 if ring == 32 else 2, enc[k], rnd, vid, ring)
                rec(f, 2, 1 if ring == 32 else 2, contrib[k], 10 * rnd + vid, 13, -1)
                rec(f, 3, 1 if ring == 32 else 2, total, 10 * rnd + vid, 13, -1)
                rec(f, 13, 4, np.zeros(0, np.uint8), rnd, vid, ring)
            if case == "raw_float" and ring == 32:
                s = np.sum(raw, axis=0).astype(np.float32)
                for k in range(N):
                    rec(files[k], 2, 0, raw[k], 100 + rnd, 13, -1)
                    rec(files[k], 3, 0, s, 100 + rnd, 13, -1)
    for f in files:
        f.close()


def verdict(*dirs):
    r = subprocess.run([sys.executable, ANALYZE, dirs[0], str(N)] + list(dirs[1:]),
                       capture_output=True, text=True)
    return r.returncode, r.stdout.strip().splitlines()[-1]


def main():
    w = sys.argv[1]
    secret = lambda i, j, s=int.from_bytes(os.urandom(8), "little"): s ^ (i * 131 + j)
    public = lambda i, j: 12345 + i * 131 + j
    bad = 0
    for case in ("correct", "removed", "raw_float", "stats_clear", "partial", "public_key", "nonce_reuse"):
        d = os.path.join(w, case)
        if case == "public_key":
            job(d + "-a", case, public)
            job(d + "-b", case, public)
            rc, line = verdict(d + "-a", d + "-b")
        elif case == "correct":
            job(d + "-a", case, secret)
            job(d + "-b", case, lambda i, j, s=int.from_bytes(os.urandom(8), "little"): s ^ (i * 131 + j))
            rc, line = verdict(d + "-a", d + "-b")
        else:
            job(d, case, secret)
            rc, line = verdict(d)
        ok = (rc == 0) == (case == "correct")
        print("E1 %-12s %s%s" % (case, line, "" if ok else "   <- WRONG"))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
