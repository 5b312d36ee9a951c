#!/usr/bin/env python3
"""nonce_reuse.py NRANKS JOB_A:FIRST_A JOB_B:FIRST_B [...] -- CKPT...

(key, nonce) freshness across jobs and resumes, from message-spy records
(tests/spy/fs_mpispy.c, one directory per job: spy-<rank>.bin).

Each JOB:FIRST names a spy directory and the first training round that job
ran (a resumed job starts after its checkpoint).  A secure-sum call is an
MPI_Allreduce whose contribution differs from its result (masked) and whose
result ends in the canary and flag words, both 0; in a job they come in the order
(round 0 sample count), then per round (model update, training sums,
evaluation sums).  The nonce of a secure sum is (round, vector id), so the
same position in two jobs of the same rounds is the same nonce.

For every pair of jobs and every secure sum both ran with the same nonce
(the round-0 count in all jobs; a round both ran, e.g. the round a resumed
job replays), on every rank:
  - the results (what the sum reveals) are bit-identical: the unmasked
    inputs are the same (deterministic training from a bit-identical model);
  - the masked contributions differ in (almost) every masked word (all but
    the last, the unmasked flag word of the protocol).  Had a job
    reused the other's keys with the same nonce, the masked vectors of
    identical inputs would be identical: this is the check that fails.
Also every key-exchange nonce (the allgather of N 32-byte blocks) and every
signed DH message (the allgather of N blocks of more than 100 bytes) differs
between jobs.

After "--", each checkpoint file must hold none of the key-exchange bytes
seen on the wire (first 16 bytes of every nonce and DH block of every job)
and none of the session-id prefixes given in $FS_SESSION_IDS (hex, space
separated).  Exit 0 = pass, 1 = a check failed.
"""
import os, struct, sys
import numpy as np

SIZES = {0: 4, 1: 4, 2: 8, 3: 8, 4: 1, 5: 4, 6: 8}
DTS = {0: np.float32, 1: np.uint32, 2: np.uint64, 3: np.float64, 4: np.uint8, 5: np.int32, 6: np.int64}


def records(path):
    out = []
    with open(path, "rb") as f:
        data = f.read()
    off = 0
    while off < len(data):
        kind, dt, count, idx, call, peer, tsize, pad = struct.unpack_from("<IIQQIiII", data, off)
        off += 40
        n = count * SIZES[dt]
        out.append((kind, dt, idx, np.frombuffer(data[off:off + n], dtype=DTS[dt]).copy()))
        off += n
    return out


def secure_sums(recs):
    """[(contribution, result)] of the masked integer allreduces, in order."""
    contrib = {idx: b for (kind, dt, idx, b) in recs if kind == 2 and dt in (1, 2)}
    out = []
    for (kind, dt, idx, res) in recs:
        if kind != 3 or dt not in (1, 2) or idx not in contrib:
            continue
        c = contrib[idx]
        if len(c) == len(res) and len(res) >= 2 and res[-1] == 0 and not np.array_equal(c, res):
            out.append((c, res))
    return out


def kx_blocks(recs, N):
    """Key-exchange blocks seen by this rank: nonces (32 bytes) and signed
    DH messages (> 100 bytes), as lists of N byte strings per allgather."""
    out = []
    for (kind, dt, idx, b) in recs:
        if kind == 1 and dt == 4 and len(b) % N == 0 and (len(b) == 32 * N or len(b) > 100 * N):
            w = len(b) // N
            out.append([bytes(b[j * w:(j + 1) * w]) for j in range(N)])
    return out


def main():
    args = sys.argv[1:]
    N = int(args[0])
    sep = args.index("--") if "--" in args else len(args)
    jobs = [a.rsplit(":", 1) for a in args[1:sep]]
    ckpts = args[sep + 1:]
    fails = 0
    runs = []
    for d, first in jobs:
        recs = [records(os.path.join(d, "spy-%d.bin" % k)) for k in range(N)]
        sums = [secure_sums(r) for r in recs]
        kx = [kx_blocks(r, N) for r in recs]
        if len({len(s) for s in sums}) != 1 or (len(sums[0]) - 1) % 3 != 0:
            print("FAIL %s: cannot parse the secure sums (%s per rank)" % (d, [len(s) for s in sums]))
            return 1
        nrounds = (len(sums[0]) - 1) // 3
        # nonce (round, vector) of each secure sum: (0, count), then per round
        # (r, update), (r, train), (r, eval)
        keys = [(0, "count")] + [(int(first) + i, v) for i in range(nrounds)
                                 for v in ("update", "train", "eval")]
        runs.append((d, dict(zip(keys, range(len(keys)))), sums, kx))
        print("%s: rounds %s..%d, %d secure sums per rank, %d key-exchange allgathers"
              % (d, first, int(first) + nrounds - 1, len(keys), len(kx[0])))
    compared = 0
    min_diff = 1.0
    for a in range(len(runs)):
        for b in range(a + 1, len(runs)):
            da, ka, sa, xa = runs[a]
            db, kb, sb, xb = runs[b]
            common = sorted(set(ka) & set(kb))
            for key in common:
                for k in range(N):
                    ca, ra = sa[k][ka[key]]
                    cb, rb = sb[k][kb[key]]
                    if len(ca) != len(cb) or not np.array_equal(ra, rb):
                        print("FAIL %s vs %s, nonce %s, rank %d: the sums differ (inputs not identical; "
                              "the comparison proves nothing)" % (da, db, key, k))
                        fails += 1
                        continue
                    # the last word is the flag word, unmasked by design (0 in
                    # an honest run): only the masked words are compared
                    ca, cb = ca[:-1], cb[:-1]
                    same = int(np.count_nonzero(ca == cb))
                    min_diff = min(min_diff, 1.0 - same / len(ca))
                    if same > len(ca) // 1000:
                        print("FAIL %s vs %s, nonce (round %d, %s), rank %d: %d of %d masked words are "
                              "identical: (key, nonce) reused across jobs" % (da, db, key[0], key[1], k,
                                                                              same, len(ca)))
                        fails += 1
                    compared += 1
            print("%s vs %s: %d shared nonces x %d ranks compared" % (da, db, len(common), N))
            for k in range(N):
                if len(xa[k]) != len(xb[k]) or not xa[k]:
                    print("FAIL rank %d: key-exchange allgathers %d vs %d" % (k, len(xa[k]), len(xb[k])))
                    fails += 1
                    continue
                for g, (ga, gb) in enumerate(zip(xa[k], xb[k])):
                    for j in range(N):
                        if ga[j] == gb[j]:
                            print("FAIL %s vs %s: rank %d saw the same key-exchange block %d of rank %d "
                                  "in both jobs" % (da, db, k, g, j))
                            fails += 1
    if compared == 0:
        print("FAIL: no secure sum with a shared nonce was compared")
        fails += 1
    # checkpoints: no key-exchange bytes, no session id
    needles = set()
    for (_, _, _, kx) in runs:
        for per_rank in kx:
            for g in per_rank:
                for blk in g:
                    needles.add(blk[:16])
    sids = [bytes.fromhex(s) for s in os.environ.get("FS_SESSION_IDS", "").split()]
    for path in ckpts:
        with open(path, "rb") as f:
            data = f.read()
        hits = [n for n in needles if n in data] + [s for s in sids if s in data]
        if hits:
            print("FAIL %s holds %d key-exchange or session-id byte strings" % (path, len(hits)))
            fails += 1
        else:
            print("%s: none of %d key-exchange blocks and %d session ids inside" % (path, len(needles),
                                                                                 len(sids)))
    print("nonce_reuse: %s (%d comparisons of a secure sum under the same nonce in two jobs; "
          "smallest fraction of masked words that differ: %.4f)" % ("FAIL" if fails else "PASS",
                                                                 compared, min_diff))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
