#!/usr/bin/env python3
"""analyze.py PLAIN_DIR SECURE_DIR NRANKS NPARAMS FRAC_BITS

Message-spy verdict for the secure sum.  PLAIN_DIR holds spy records of a
--aggregation plain run: each rank's float contribution to the first
MPI_Allreduce of NPARAMS floats is its raw round-1 update u_k.  SECURE_DIR
holds the records of the same run with --aggregation secure (same seed, so
round-1 updates are identical).  The raw encoded update of rank k is
e_k = round(u_k * 2^f) mod 2^32.

Every buffer a rank received (allgather/bcast/allreduce results) is checked
against every OTHER rank's e_j: no equality (not even 1% of coordinates) and
no correlation (|r| < 0.05).  Messages inside MPI_Allreduce are not visible
to PMPI, but any of them is a sum of the masked contributions of a subset S
of ranks; so every proper nonempty subset sum of the recorded masked
contributions is checked too.  The sum over all ranks is the revealed
output and must equal sum_k e_k bit for bit (exactness), and a positive
control shows the detector flags the plain run (its received sum correlates
with each u_k).  A secure sum reduces P + 2 words: the P masked values, the
masked canary (sums to 0) and an unmasked flag word (0 on a rank whose
masking succeeded).  Exit 0 = pass.
"""
import itertools, os, struct, sys
import numpy as np

def records(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    sizes = {0: 4, 1: 4, 2: 8, 3: 8, 4: 1, 5: 4, 6: 8}
    dts = {0: np.float32, 1: np.uint32, 2: np.uint64, 3: np.float64, 4: np.uint8, 5: np.int32, 6: np.int64}
    while off < len(data):
        kind, dt, count, idx, call, peer, tsize, pad = struct.unpack_from("<IIQQIiII", data, off)
        off += 40
        n = count * sizes[dt]
        buf = np.frombuffer(data[off:off + n], dtype=dts[dt]).copy()
        off += n
        out.append((kind, dt, idx, buf))
    return out

def signed32(x):
    return x.astype(np.uint32).view(np.int32).astype(np.float64)

def corr(a, b):
    a = a - a.mean(); b = b - b.mean()
    d = np.sqrt((a * a).sum() * (b * b).sum())
    return 0.0 if d == 0 else float((a * b).sum() / d)

def main():
    pdir, sdir, N, P, f = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    prec = [records(os.path.join(pdir, "spy-%d.bin" % k)) for k in range(N)]
    srec = [records(os.path.join(sdir, "spy-%d.bin" % k)) for k in range(N)]
    # raw updates u_k from the plain run: first float allreduce contribution of length P
    u = [next(b for (kind, dt, i, b) in prec[k] if kind == 2 and dt == 0 and len(b) == P) for k in range(N)]
    e = [(np.rint(uk.astype(np.float64) * 2.0 ** f).astype(np.int64) & 0xFFFFFFFF).astype(np.uint32) for uk in u]
    fails = 0
    # positive control: in the plain run a rank receives sum_k u_k, which correlates with u_j
    psum = next(b for (kind, dt, i, b) in prec[0] if kind == 3 and dt == 0 and len(b) == P)
    pc = min(abs(corr(psum.astype(np.float64), u[j].astype(np.float64))) for j in range(N))
    print("positive control: plain-run received sum vs raw updates, min |r| = %.3f" % pc)
    if pc < 0.1:
        print("FAIL: detector cannot see the plain-run leak"); fails += 1
    # masked contributions of the secure run: first uint32 allreduce of P + 2 words
    masked = [next(b for (kind, dt, i, b) in srec[k] if kind == 2 and dt == 1 and len(b) == P + 2) for k in range(N)]
    for k in range(N):
        if masked[k][P + 1] != 0:
            print("FAIL: rank %d sent the flag word %d (a failure) in an honest run" % (k, masked[k][P + 1])); fails += 1
    checked = 0
    worst = 0.0
    def check(buf, owner_desc, exclude):
        nonlocal fails, checked, worst
        if buf.dtype != np.uint32 or len(buf) < P:
            return
        b = buf[:P]
        for j in range(N):
            if j in exclude:
                continue
            eq = float(np.mean(b == e[j]))
            r = abs(corr(signed32(b), signed32(e[j])))
            worst = max(worst, r)
            checked += 1
            if eq > 0.01 or r > 0.05:
                print("FAIL: %s vs rank %d raw update: equal %.4f, |r| %.4f" % (owner_desc, j, eq, r))
                fails += 1
    # 1. every buffer each rank received (and its own contribution vs the others)
    for k in range(N):
        for (kind, dt, i, b) in srec[k]:
            if kind in (1, 3, 4) and dt == 1 and len(b) == P + 2 and kind == 3:
                continue  # the revealed sum, checked for exactness below
            check(b, "rank %d received (kind %d, call %d)" % (k, kind, i), {k})
        check(masked[k], "rank %d masked contribution" % k, set())
    # 2. every proper subset sum (what any message inside the reduction can be)
    for size in range(1, N):
        for S in itertools.combinations(range(N), size):
            s = np.zeros(P + 2, dtype=np.uint64)
            for k in S:
                s += masked[k]
            check((s & 0xFFFFFFFF).astype(np.uint32), "sum of masked contributions of ranks %s" % (S,), set())
    # 3. exactness: the full sum equals sum_k e_k bit for bit (canary 0, flag 0)
    total = np.zeros(P + 2, dtype=np.uint64)
    for k in range(N):
        total += masked[k]
    total = (total & 0xFFFFFFFF).astype(np.uint32)
    esum = np.zeros(P, dtype=np.uint64)
    for k in range(N):
        esum += e[k]
    esum = (esum & 0xFFFFFFFF).astype(np.uint32)
    received = next(b for (kind, dt, i, b) in srec[0] if kind == 3 and dt == 1 and len(b) == P + 2)
    if not (np.array_equal(total, received) and total[P] == 0 and total[P + 1] == 0
            and np.array_equal(total[:P], esum)):
        print("FAIL: masked sum != sum of raw encodings (or canary or flag != 0)"); fails += 1
    print("checked %d (buffer, raw update) pairs; worst |r| = %.4f; exact sum: %s" %
          (checked, worst, "yes" if fails == 0 else "see above"))
    print("spy verdict: %s" % ("PASS" if fails == 0 else "FAIL"))
    return 1 if fails else 0

if __name__ == "__main__":
    sys.exit(main())
