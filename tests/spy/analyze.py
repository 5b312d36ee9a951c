#!/usr/bin/env python3
"""analyze.py DIR NRANKS [DIR2]

Message-spy verdict for the secure-sum programs.  DIR holds spy-<rank>.bin
written by tests/spy/fs_mpispy.c (LD_PRELOAD): every MPI buffer each rank
sent or received (records of kind 1-9; kind 10 = a call the spy could not
record, a failure), and, around every secure sum, the ground truth this rank
held raw and never sent (kind 11: the float/double input; kind 12: its
fixed-point words before masking, encoded by the library's own encoder;
kind 13: end of the sum; kind 14: a key-exchange secret).  Checks, each naming its leak class:

  unknown     any kind-10 record.
  raw-equal   every buffer of every call (every datatype; read as 32-bit
              words and as 64-bit words at byte offsets 0 and 4, or every
              byte offset for byte buffers) against every raw value of
              every OTHER rank (and, for what a rank sends, its own too):
              the raw floats as f32 and as f64, the raw doubles, and the raw
              ring words.  The count m of buffer words found in a rank's
              raw value set S (the word 0 excluded: it is every rank's
              padding) is compared with what chance gives: a word of a
              buffer that hides S (masked, or unrelated) matches S with
              probability |S| / 2^w, so m ~ Poisson(lam = len * |S| / 2^w).
              Flag if P(Poisson(lam) >= m) < 1e-9 (the test is made for
              at most ~1e5 (buffer, rank, view) pairs: a false alarm of
              the whole run has probability < 1e-4).  1% of 300k
              coordinates is 3000 matches against lam ~ 1: flagged.
              Reduction results (the revealed sums) are not tested here:
              they are the output, released in the clear (see exact).
  correlate   every masked contribution vs every rank's raw words of the
              same sum (signed): |r| < 6 / sqrt(n) (a 6-sigma bound for
              independent words), n >= 64.
  subset      every proper nonempty subset S of ranks: the sum of their
              masked contributions vs the sum of their raw words and vs each
              rank's raw words, position by position (lam = n / 2^w).
  nonce-reuse for every two secure sums of one rank in one ring: the
              difference of the masked contributions equals the difference
              of the raw words on more positions than chance (a reused
              (key, nonce) gives the same mask twice).
  public-key  with DIR2 (a second job with the same public inputs and the
              same data and seeds): for every (rank, round, vector) the same
              test across the two jobs.  Masks keyed only by public values
              repeat across jobs; keys from fresh DH do not.
  secret      no buffer of any call (reduction results included) holds an
              8-byte window of a key-exchange secret (kind 14: every DH
              shared secret and every HKDF output: mask seeds, pair keys).
  exact       the sum over ranks of the masked contributions equals the sum
              of the raw words (mod 2^b), canary and flag word 0, and each
              rank received exactly that.
Exit 0 = pass; the last line is "spy verdict: PASS" or "spy verdict: FAIL
(classes ...)".
"""
import itertools, math, os, struct, sys
import numpy as np

HDR = struct.Struct("<IIQQIiII")
DT = {0: np.float32, 1: np.uint32, 2: np.uint64, 3: np.float64, 4: np.uint8, 5: np.int32, 6: np.int64}
SENT = {2, 5, 7}            # what the recording rank sent or contributed
RECEIVED = {1, 4, 6}        # what it received (reduction results 3, 8: revealed)
ALPHA = 1e-9


def read_rank(path):
    """(transcript records, secure sums, key-exchange secrets) of one rank's file."""
    data = open(path, "rb").read()
    off, recs, sums, secrets, cur = 0, [], [], [], None
    while off < len(data):
        kind, dt, count, idx, call, peer, tsize, _ = HDR.unpack_from(data, off)
        off += HDR.size
        nb = count * np.dtype(DT[dt]).itemsize
        buf = np.frombuffer(data, dtype=np.uint8, count=nb, offset=off) if nb else np.zeros(0, np.uint8)
        off += nb
        if kind == 11:
            cur = {"round": idx, "vid": call, "ring": peer, "raw": buf.view(DT[dt]), "contrib": [], "result": []}
        elif kind == 12:
            if cur is None or cur["round"] != idx or cur["vid"] != call:
                cur = {"round": idx, "vid": call, "ring": peer, "raw": None, "contrib": [], "result": []}
            cur["words"] = buf.view(DT[dt])
        elif kind == 14:
            secrets.append(buf.copy())
        elif kind == 13:
            if cur is not None:
                sums.append(cur)
            cur = None
        else:
            recs.append((kind, dt, idx, call, peer, buf))
            if cur is not None and kind in (2, 3) and dt in (1, 2) and (32 if dt == 1 else 64) == cur["ring"]:
                cur["contrib" if kind == 2 else "result"].append(buf.view(DT[dt]))
    for s in sums:
        s["contrib"] = np.concatenate(s["contrib"]) if s["contrib"] else np.zeros(0, DT[1 if s["ring"] == 32 else 2])
        s["result"] = np.concatenate(s["result"]) if s["result"] else np.zeros(0, s["contrib"].dtype)
    return recs, sums, secrets


def secret_words(secrets):
    """Every 8-byte window (at every byte offset) of every secret, as sorted
    informative 64-bit words: a copy of a secret at any offset of a buffer
    puts one of them on the buffer's 8-byte grid."""
    parts = []
    for b in secrets:
        for s in range(min(8, len(b))):
            parts.append(b[s:s + (len(b) - s) // 8 * 8].view(np.uint64))
    if not parts:
        return np.zeros(0, np.uint64)
    u = np.unique(np.concatenate(parts))
    return u[informative(u)]


def poisson_sf(m, lam):
    """P(X >= m), X ~ Poisson(lam)."""
    if m <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if m > lam:  # upper tail: sum of terms from m on (they decrease fast)
        t = math.exp(-lam + m * math.log(lam) - math.lgamma(m + 1))
        s, k = 0.0, m
        while t > 1e-300 and k < m + 100000:
            s += t
            k += 1
            t *= lam / k
            if t < s * 1e-17:
                break
        return min(1.0, s)
    return 1.0


def views(buf):
    """(name, u32 words, u64 words) views of a byte buffer at the cheap alignments."""
    n = len(buf)
    shifts = range(8) if n < 4096 else (0, 4)
    for s in shifts:
        out32 = buf[s:s + (n - s) // 4 * 4].view(np.uint32) if s < 4 else None
        out64 = buf[s:s + (n - s) // 8 * 8].view(np.uint64)
        yield s, out32, out64


def value_sets(sums):
    """A rank's raw values as sorted unique word sets (0 excluded) by width."""
    w32, w64 = [], []
    for s in sums:
        if s["raw"] is not None:
            r = s["raw"]
            if r.dtype == np.float32:
                w32.append(r.view(np.uint32))
                w64.append(r.astype(np.float64).view(np.uint64))
            else:
                w64.append(r.view(np.uint64))
                w32.append(r.astype(np.float32).view(np.uint32))
        if "words" in s:
            (w32 if s["ring"] == 32 else w64).append(s["words"])
    def uniq(parts, dt):
        if not parts:
            return np.zeros(0, dt)
        u = np.unique(np.concatenate(parts).astype(dt))
        return u[informative(u)]
    return uniq(w32, np.uint32), uniq(w64, np.uint64)


def span_bits(w):
    """Significant bits of each word after removing its trailing zero bits."""
    w = w.astype(np.uint64)
    low = w & (~w + np.uint64(1))                  # lowest set bit (0 for 0)
    t = np.where(w == 0, np.uint64(1), w // np.where(low == 0, np.uint64(1), low))
    return np.floor(np.log2(t.astype(np.float64))).astype(np.int64) + 1


def informative(u):
    """Words with more than 16 significant bits, as stored and negated in
    the ring: small integers, short floats (4.0, 0.5) and tiny fixed-point
    values are excluded; public configuration is full of them.  The
    positional per-sum tests (subset, nonce-reuse, public-key) cover them."""
    bits = 32 if u.dtype == np.uint32 else 64
    neg = (np.uint64(0) - u.astype(np.uint64))
    if bits == 32:
        neg &= np.uint64(0xFFFFFFFF)
    return (u != 0) & (span_bits(u) > 16) & (span_bits(neg) > 16)


def count_in(words, sset):
    if len(words) == 0 or len(sset) == 0:
        return 0
    w = words[words != 0]
    i = np.searchsorted(sset, w)
    i[i == len(sset)] = 0
    return int(np.count_nonzero(sset[i] == w))


class Verdict:
    def __init__(self):
        self.flags = {}
        self.tests = 0

    def flag(self, cls, msg):
        if self.flags.get(cls, 0) < 5:
            print("FLAG %s: %s" % (cls, msg))
        self.flags[cls] = self.flags.get(cls, 0) + 1

    def rare(self, cls, m, lam, msg):
        """Flag when m matches are too many for chance (lam expected)."""
        self.tests += 1
        p = poisson_sf(m, lam)
        if p < ALPHA:
            self.flag(cls, "%s: %d matches, chance expects %.3g (p = %.2g)" % (msg, m, lam, p))


def positional(a, b, ring):
    """Positions where ring words a and b agree, and what chance gives (a is masked: uniform)."""
    n = min(len(a), len(b))
    return int(np.count_nonzero(a[:n] == b[:n])), n / 2.0 ** ring


def main():
    d, N = sys.argv[1], int(sys.argv[2])
    d2 = sys.argv[3] if len(sys.argv) > 3 else None
    files = [read_rank(os.path.join(d, "spy-%d.bin" % k)) for k in range(N)]
    ranks = [(r, s) for (r, s, _) in files]
    secret = secret_words([b for (_, _, sec) in files for b in sec])
    V = Verdict()
    nrec = sum(len(r) for r, _ in ranks)
    nsums = [len(s) for _, s in ranks]
    if len(set(nsums)) != 1 or nsums[0] == 0:
        V.flag("exact", "ranks recorded different numbers of secure sums (or none): %s" % nsums)
    sets = [value_sets(s) for _, s in ranks]
    # unknown calls
    for k, (recs, _) in enumerate(ranks):
        for (kind, dt, idx, call, peer, buf) in recs:
            if kind == 10:
                V.flag("unknown", "rank %d: a call the spy could not record (call %d)" % (k, call))
    # raw-equal: every buffer of every call vs raw value sets
    nbuf = 0
    for k, (recs, _) in enumerate(ranks):
        for (kind, dt, idx, call, peer, buf) in recs:
            if kind not in SENT and kind not in RECEIVED or len(buf) < 4:
                continue
            nbuf += 1
            owners = range(N) if kind in SENT else [j for j in range(N) if j != k]
            for s, u32, u64 in views(buf):
                for j in owners:
                    s32, s64 = sets[j]
                    where = "rank %d %s (kind %d, call %d, peer %d, %d bytes, offset %d) vs rank %d raw" % (
                        k, "sent" if kind in SENT else "received", kind, call, peer, len(buf), s, j)
                    if u32 is not None and len(u32):
                        V.rare("raw-equal", count_in(u32, s32), len(u32) * len(s32) / 2.0 ** 32, where + " (32-bit)")
                    if len(u64):
                        V.rare("raw-equal", count_in(u64, s64), len(u64) * len(s64) / 2.0 ** 64, where + " (64-bit)")
    # secret: no key-exchange secret in any buffer (reduction results included)
    if len(secret) == 0:
        V.flag("secret", "no key-exchange secret recorded: the secret test would be vacuous")
    for k, (recs, _) in enumerate(ranks):
        for (kind, dt, idx, call, peer, buf) in recs:
            if len(buf) < 8:
                continue
            u64 = buf[:len(buf) // 8 * 8].view(np.uint64)
            V.rare("secret", count_in(u64, secret), len(u64) * len(secret) / 2.0 ** 64,
                   "rank %d kind %d call %d (%d bytes) vs every DH secret and derived key" % (k, kind, call, len(buf)))
    # per secure sum: exact, correlate, subset
    mods = {32: np.uint64(0xFFFFFFFF), 64: None}
    nsum = min(nsums) if nsums else 0
    for t in range(nsum):
        ss = [ranks[k][1][t] for k in range(N)]
        ring, n = ss[0]["ring"], len(ss[0]["words"])
        tag = "sum %d (round %d, vector %d, %d words, ring %d)" % (t, ss[0]["round"], ss[0]["vid"], n, ring)
        wdt = np.uint32 if ring == 32 else np.uint64
        # trailer: the canary and the flag word (fs_secagg_sum_f32/_f64), or
        # the canary alone (fs_secagg_sum_words, whose caller owns words[n])
        tr = len(ss[0]["contrib"]) - n
        if tr not in (1, 2) or any(len(s["contrib"]) != n + tr for s in ss):
            V.flag("exact", "%s: contributions of %s words, expected n + 1 or n + 2 on every rank"
                   % (tag, [len(s["contrib"]) for s in ss]))
            continue
        def rsum(vs):
            acc = np.zeros(len(vs[0]), np.uint64)
            for v in vs:
                acc += v.astype(np.uint64)
            return acc.astype(wdt)
        total = rsum([s["contrib"] for s in ss])
        raw = rsum([s["words"] for s in ss])
        if not (np.array_equal(total[:n], raw) and not total[n:].any()):
            V.flag("exact", "%s: sum of masked contributions != sum of raw words (or canary/flag != 0)" % tag)
        for k, s in enumerate(ss):
            if not np.array_equal(s["result"], total):
                V.flag("exact", "%s: rank %d received another sum" % (tag, k))
        if n >= 64:
            sig = lambda v: (v.view(np.int32) if ring == 32 else v.view(np.int64)).astype(np.float64)
            for k, s in enumerate(ss):
                c = sig(s["contrib"][:n])
                for j in range(N):
                    e = sig(ss[j]["words"])
                    if e.std() == 0 or c.std() == 0:
                        continue
                    r = float(np.corrcoef(c, e)[0, 1])
                    V.tests += 1
                    if abs(r) > 6.0 / math.sqrt(n):
                        V.flag("correlate", "%s: rank %d contribution vs rank %d raw words: r = %.4f" % (tag, k, j, r))
        for size in range(1, N):
            for S in itertools.combinations(range(N), size):
                part = rsum([ss[k]["contrib"][:n] for k in S])
                m, lam = positional(part, rsum([ss[k]["words"] for k in S]), ring)
                V.rare("subset", m, lam, "%s: masked sum of ranks %s vs their raw sum" % (tag, S))
                for j in range(N):
                    m, lam = positional(part, ss[j]["words"], ring)
                    V.rare("subset", m, lam, "%s: masked sum of ranks %s vs rank %d raw" % (tag, S, j))
    # nonce-reuse: two sums of one rank with the same mask
    for k, (_, sums) in enumerate(ranks):
        for a, b in itertools.combinations(range(len(sums)), 2):
            A, B = sums[a], sums[b]
            if A["ring"] != B["ring"] or "words" not in A or "words" not in B:
                continue
            n = min(len(A["words"]), len(B["words"]))
            if n < 1 or len(A["contrib"]) < n or len(B["contrib"]) < n:
                continue
            dm = A["contrib"][:n] - B["contrib"][:n]
            de = A["words"][:n] - B["words"][:n]
            m, lam = positional(dm, de, A["ring"])
            V.rare("nonce-reuse", m, lam, "rank %d sums %d and %d (rounds %d, %d; vectors %d, %d): "
                   "difference of masked = difference of raw" % (k, a, b, A["round"], B["round"], A["vid"], B["vid"]))
    # public-key: the same sums in a second job with the same public inputs
    if d2:
        other = [read_rank(os.path.join(d2, "spy-%d.bin" % k))[1] for k in range(N)]
        for k in range(N):
            idx = {(s["round"], s["vid"]): s for s in other[k]}
            for A in ranks[k][1]:
                B = idx.get((A["round"], A["vid"]))
                if B is None or B["ring"] != A["ring"] or len(B["contrib"]) != len(A["contrib"]):
                    continue
                n = len(A["words"])
                m, lam = positional(A["contrib"][:n] - B["contrib"][:n], A["words"] - B["words"], A["ring"])
                V.rare("public-key", m, lam, "rank %d round %d vector %d: masks repeat across jobs"
                       % (k, A["round"], A["vid"]))
    print("%d records, %d data buffers, %d secure sums per rank, %d tests" % (nrec, nbuf, nsum, V.tests))
    if V.flags:
        print("spy verdict: FAIL (classes %s)" % " ".join("%s:%d" % kv for kv in sorted(V.flags.items())))
        return 1
    print("spy verdict: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
