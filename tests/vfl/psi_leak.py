#!/usr/bin/python3
"""psi_leak.py - play a curious rank 0 on its own PSI transcript.

Usage: psi_leak.py new|old DIR [--self-test]

DIR holds rank-0.bin (tests/vfl/psi_spy.c records: everything rank 0 sent
and received), ids-0.txt (rank 0's ids), result.txt (its output) and, for
the new protocol, sid.hex (the public session id).  Rank 0 knows its ids,
the order of its own first list and every byte it sent or received.  The
strategies, all applied to both protocols:

  A. linkage: values rank 0 can tie to one of its own ids are (new) the
     hash H(x) of each id, recomputed here with libsodium exactly as the
     library does, and its own first ring list a0 H(x); (old) its own first
     list and its fully exponentiated list F(x) that the ring returns to it
     in its own order.  Count, for every other rank j, how many of these
     values occur in messages that rank 0 received from j (or that j
     broadcast): a positive count tells rank 0 which of its ids j holds;
  B. any received value equal to any value rank 0 sent;
  C. received messages from different ranks sharing values (sizes of
     partial intersections);
  D. zero words in every secure-sum table result: must equal |I| in total
     (each common tag is detected once); the flag messages must each carry
     exactly |I| ones;
With --self-test (new only), the same detectors run on synthesized
records as positive controls: one H(x) planted in a received list must be
caught by A, and 7 zeros planted in a table by D.

Prints one line per strategy and "verdict: no leak" (exit 0) or
"verdict: LEAK" (exit 3).
"""
import ctypes
import ctypes.util
import hashlib
import struct
import sys

RING_NEW, FLAGS_NEW = 7111, 7112
RING_OLD, BACK_OLD = 7101, 7102


def records(path):
    out = []
    with open(path, "rb") as f:
        while True:
            h = f.read(24)
            if len(h) < 24:
                break
            kind, peer, tag, esz, nb = struct.unpack("<IiiIQ", h)
            out.append({"kind": chr(kind), "peer": peer, "tag": tag, "esz": esz,
                        "data": f.read(nb)})
    return out


def elements(data, e):
    return [data[i:i + e] for i in range(0, len(data) - len(data) % e, e)
            if any(data[i:i + e])]


def hash_to_group(sid, ids):
    """H(x) = from_hash(SHA-512("fedsilo psi v2\\0" || sid || BE64(len) || x))."""
    so = ctypes.CDLL(ctypes.util.find_library("sodium"))
    if so.sodium_init() < 0:
        raise SystemExit("sodium_init failed")
    out = {}
    for x in ids:
        b = x.encode()
        h = hashlib.sha512(b"fedsilo psi v2\0" + sid + struct.pack(">Q", len(b)) + b).digest()
        p = ctypes.create_string_buffer(32)
        so.crypto_core_ristretto255_from_hash(p, h)
        out[p.raw] = x
    return out


def analyse(mode, recs, ids, result, sid):
    e = 32 if mode == "new" else 256
    ring = RING_NEW if mode == "new" else RING_OLD
    leak = []
    # values rank 0 can tie to its own ids
    linked = set()
    if mode == "new":
        linked |= set(hash_to_group(sid, ids))
    sent = [r for r in recs if r["kind"] == "S"]
    first = next((r for r in sent if r["tag"] == ring), None)
    if first is None:
        raise SystemExit("no ring message sent by rank 0 in the records")
    own_first = set(elements(first["data"], e))
    if len(own_first) < len(ids):
        raise SystemExit("rank 0's first list has %d values, expected %d" % (len(own_first), len(ids)))
    linked |= own_first
    recv = [r for r in recs if r["kind"] in "RG" or (r["kind"] == "B" and r["peer"] != 0)]
    if mode == "old":
        for r in recv:
            if r["kind"] == "R" and r["tag"] == BACK_OLD:
                linked |= set(elements(r["data"], e))
    carriers = [r for r in recv if not (r["kind"] == "R" and r["tag"] == BACK_OLD)
                and r["tag"] != FLAGS_NEW]
    # A. linkage per source rank
    per = {}
    for r in carriers:
        per.setdefault(r["peer"], set()).update(set(elements(r["data"], e)) & linked)
    counts = {j: len(per.get(j, ())) for j in (1, 2)}
    counts[-1] = len(per.get(-1, ()))
    print("A. own-id values found in messages of rank 1: %d, rank 2: %d, allgathers: %d"
          % (counts[1], counts[2], counts[-1]))
    if any(counts.values()):
        leak.append("A")
    # B. received values equal to sent ones
    sent_vals = set()
    for r in sent:
        if r["tag"] != FLAGS_NEW:
            sent_vals |= set(elements(r["data"], e))
    b = sum(len(set(elements(r["data"], e)) & sent_vals) for r in carriers)
    print("B. received values equal to values rank 0 sent: %d" % b)
    if b:
        leak.append("B")
    # C. values shared by messages from different ranks
    c = 0
    for i, r in enumerate(carriers):
        for s in carriers[i + 1:]:
            if r["peer"] != s["peer"]:
                c += len(set(elements(r["data"], e)) & set(elements(s["data"], e)))
    print("C. values shared by messages of different ranks: %d" % c)
    if c:
        leak.append("C")
    # D. zero words in the secure-sum tables and ones in the flag messages
    tables = [r for r in recs if r["kind"] == "A" and r["esz"] == 8 and len(r["data"]) >= 17 * 8]
    zeros = 0
    for r in tables:
        w = struct.unpack("<%dQ" % (len(r["data"]) // 8), r["data"])
        zeros += sum(1 for x in w[:-1] if x == 0)
    ones = [sum(r["data"][:-32]) for r in recs if r["tag"] == FLAGS_NEW and r["kind"] == "R"]
    print("D. %d secure-sum tables: %d zero words; |I| = %d; ones per received flag message: %s"
          % (len(tables), zeros, len(result), ones))
    if tables and zeros != len(result):
        leak.append("D")
    if any(o != len(result) for o in ones):
        leak.append("D-flags")
    return leak


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("new", "old"):
        raise SystemExit(__doc__)
    mode, d = sys.argv[1], sys.argv[2]
    recs = records(d + "/rank-0.bin")
    ids = [l.strip() for l in open(d + "/ids-0.txt") if l.strip()]
    result = [l.strip() for l in open(d + "/result.txt") if l.strip()]
    sid = bytes.fromhex(open(d + "/sid.hex").read().strip()) if mode == "new" else b""
    leak = analyse(mode, recs, ids, result, sid)
    if "--self-test" in sys.argv and mode == "new":
        # positive controls through the same detectors
        h = next(iter(hash_to_group(sid, ids[:1])))
        planted = [dict(r) for r in recs]
        r = next(r for r in planted if r["kind"] == "R" and r["tag"] == RING_NEW)
        r["data"] = h + r["data"][32:]
        print("self-test, one H(x) planted in a received list:")
        got_a = "A" in analyse(mode, planted, ids, result, sid)
        planted = [dict(r) for r in recs]
        r = next(r for r in planted if r["kind"] == "A" and r["esz"] == 8 and len(r["data"]) >= 17 * 8)
        r["data"] = bytes(8 * 7) + r["data"][56:]
        print("self-test, 7 zero words planted in a table:")
        got_d = "D" in analyse(mode, planted, ids, result, sid)
        print("self-test: A %s, D %s" % ("caught" if got_a else "MISSED", "caught" if got_d else "MISSED"))
        if not (got_a and got_d):
            sys.exit(99)
    print("verdict: " + ("LEAK (%s)" % ", ".join(leak) if leak else "no leak"))
    sys.exit(3 if leak else 0)


if __name__ == "__main__":
    main()
