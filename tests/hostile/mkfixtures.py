#!/usr/bin/python3
"""mkfixtures.py - generate the hostile-input corpus of tests/hostile/run.sh.

Usage: mkfixtures.py GOOD_SHARD OUTDIR
       mkfixtures.py --checkpoint GOOD_CHECKPOINT OUTDIR

GOOD_SHARD is a valid shard written by `fedsilo split` (classification, with
a /validation part).  Every fixture is derived from it (or written from
scratch) so that exactly one property is wrong.  Fixtures are generated at
test time; nothing binary is committed.  Needs python3-h5py and numpy
(scripts/install-deps.sh data); run with /usr/bin/python3.
"""
import os
import shutil
import struct
import sys
import gzip

import h5py
import numpy as np


def checkpoint_fixtures(src, out):
    """Corrupt copies of a real checkpoint, one property wrong in each."""
    os.makedirs(out, exist_ok=True)
    def mk(name, fn):
        path = os.path.join(out, name + ".h5")
        shutil.copy(src, path)
        with h5py.File(path, "r+") as f:
            fn(f)
    def setattr_(k, v):
        return lambda f: f.attrs.__setitem__(k, v)
    def tamper(f):
        a = f["params"][:]
        a[0] += 1.0
        f["params"][...] = a
    def reshape2d(f):
        a = f["params"][:]
        del f["params"]
        f["params"] = a.reshape(1, -1)
    def drop_hash(f):
        del f.attrs["model_hash"]
    mk("ck_params_tampered", tamper)
    mk("ck_nparams_huge", setattr_("nparams", np.uint64(2 ** 40)))
    mk("ck_params_2d", reshape2d)
    mk("ck_no_model_hash", drop_hash)
    mk("ck_model_unknown", setattr_("model", "transformer"))
    mk("ck_model_huge", setattr_("model", "mlp:99999999999,99999999999"))
    mk("ck_version_9", setattr_("format_version", np.int32(9)))
    mk("ck_wrong_format", setattr_("fedsilo_format", "fedsilo-dataset"))
    mk("ck_round_negative", setattr_("round", np.int32(-3)))
    raw = open(src, "rb").read()
    with open(os.path.join(out, "ck_truncated.h5"), "wb") as f:
        f.write(raw[: len(raw) // 3])


if sys.argv[1] == "--checkpoint":
    checkpoint_fixtures(sys.argv[2], sys.argv[3])
    print("checkpoint fixtures written to", sys.argv[3])
    sys.exit(0)

good, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)

with h5py.File(good, "r") as f:
    X = f["X"][:]
    y = f["y"][:]
    Xv = f["validation/X"][:]
    yv = f["validation/y"][:]
    attrs = dict(f.attrs)
    names = f["feature_names"][:] if "feature_names" in f else None
n, d = X.shape
K = int(attrs["num_classes"])


def write(name, X=X, y=y, attrs=attrs, val=(Xv, yv), names=names, extra=None, drop=()):
    """Write a fedsilo-layout file with the given parts; `drop` removes attributes."""
    path = os.path.join(out, name + ".h5")
    with h5py.File(path, "w") as f:
        if X is not None:
            f["X"] = X
        if y is not None:
            f["y"] = y
        if names is not None:
            f["feature_names"] = names
        if val is not None:
            g = f.create_group("validation")
            g["X"], g["y"] = val
        for k, v in attrs.items():
            if k not in drop:
                f.attrs[k] = v
        if extra:
            extra(f)
    return path


def copybytes(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


raw = open(good, "rb").read()
# --- files that are not (whole) HDF5 ---------------------------------------
copybytes("empty_file.h5", b"")
copybytes("superblock_only.h5", raw[:512])            # valid signature, nothing behind it
copybytes("half_file.h5", raw[: len(raw) // 2])
mid = bytearray(raw)                                   # corrupt object headers in the middle
for i in range(len(mid) // 3, len(mid) // 3 + 256):
    mid[i] ^= 0x5A
copybytes("bitrot.h5", bytes(mid))
copybytes("text.h5", b"X,y\n1,2\n" * 64)

# --- wrong dtype / shape -----------------------------------------------------
write("x_float64", X=X.astype(np.float64))
write("x_int32", X=(X * 100).astype(np.int32))
write("x_1d", X=X.reshape(-1), names=None)
write("x_3d", X=X.reshape(n, d, 1), names=None)
write("y_float_class", y=y.astype(np.float32))
write("y_2d", y=y.reshape(-1, 1))
write("y_short", y=y[: n - 3])
write("x_group", X=None, extra=lambda f: f.create_group("X"))
write("no_y", y=None)
write("names_wrong_len", names=names[:-2] if names is not None else np.array([b"a"]))
write("val_d_mismatch", val=(Xv[:, :-1], yv))
write("val_y_float", val=(Xv, yv.astype(np.float32)))

# --- empty / degenerate -----------------------------------------------------
write("empty_rows", X=np.zeros((0, d), np.float32), y=np.zeros((0,), np.int32))
write("zero_features", X=np.zeros((n, 0), np.float32), names=None, val=None)

# --- values ------------------------------------------------------------------
Xn = X.copy(); Xn[5, 3] = np.nan
write("nan_feature", X=Xn)
Xi = X.copy(); Xi[7, 0] = np.inf
write("inf_feature", X=Xi)
Xvn = Xv.copy(); Xvn[1, 2] = -np.inf
write("val_inf_feature", val=(Xvn, yv))
yo = y.copy(); yo[4] = K
write("label_too_big", y=yo)
yneg = y.copy(); yneg[2] = -1
write("label_negative", y=yneg)
yh = y.astype(np.int64); yh[0] = 2 ** 40                # does not fit int32 at all
write("label_int64_huge", y=yh)

# --- attributes --------------------------------------------------------------
write("no_format_attr", drop=("fedsilo_format",))
a = dict(attrs); a["fedsilo_format"] = "fedsilo-checkpoint"
write("wrong_format_attr", attrs=a)
a = dict(attrs); a["format_version"] = np.int32(2)
write("format_version_2", attrs=a)
a = dict(attrs); a["task"] = "clustering"
write("task_unknown", attrs=a)
a = dict(attrs); a["num_classes"] = np.int32(1)
write("num_classes_1", attrs=a)
a = dict(attrs); a["num_classes"] = np.int32(-7)
write("num_classes_negative", attrs=a)
a = dict(attrs); a["shard_index"] = np.int32(9); a["num_shards"] = np.int32(4)
write("shard_index_out_of_range", attrs=a)

# --- mismatches between ranks (valid files on their own) --------------------
rng = np.random.default_rng(3)
write("more_features", X=np.hstack([X, rng.normal(size=(n, 1)).astype(np.float32)]), names=None,
      val=(np.hstack([Xv, np.zeros((len(Xv), 1), np.float32)]), yv))
a = dict(attrs); a["num_classes"] = np.int32(K + 2)
write("more_classes", attrs=a)
a = dict(attrs); a["task"] = "regression"; a["num_classes"] = np.int32(0)
write("regression_task", attrs=a, y=y.astype(np.float32), val=(Xv, yv.astype(np.float32)))
yr = y.astype(np.float32); yr[3] = np.nan
write("regression_nan_target", attrs=a, y=yr, val=(Xv, yv.astype(np.float32)))

# --- a memory bomb: a dataset whose declared shape is 2^40 x d, no storage --
def bomb(f):
    f.create_dataset("X", shape=(2 ** 40, d), dtype=np.float32)      # never written
    f.create_dataset("y", shape=(2 ** 40,), dtype=np.int32)
write("huge_declared_shape", X=None, y=None, val=None, extra=bomb)
def bomb2(f):  # fits size_t but not memory: 2^34 x d floats
    f.create_dataset("X", shape=(2 ** 34, d), dtype=np.float32)
    f.create_dataset("y", shape=(2 ** 34,), dtype=np.int32)
write("large_declared_shape", X=None, y=None, val=None, extra=bomb2)

# --- an attribute of the wrong type -----------------------------------------
a = dict(attrs); a["num_classes"] = "three"
write("num_classes_string", attrs=a)
a = dict(attrs); a["task"] = np.int32(0)
write("task_int", attrs=a)

# --- IDX files ---------------------------------------------------------------
def idx_images(cnt, rows, cols, payload=None, magic=0x00000803):
    hdr = struct.pack(">IIII", magic, cnt, rows, cols)
    if payload is None:
        payload = bytes((i * 7) & 0xFF for i in range(cnt * rows * cols))
    return hdr + payload
def idx_labels(cnt, payload=None, magic=0x00000801):
    if payload is None:
        payload = bytes(i % 10 for i in range(cnt))
    return struct.pack(">II", magic, cnt) + payload

copybytes("idx_ok_images", idx_images(20, 4, 4))
copybytes("idx_ok_labels", idx_labels(20))
copybytes("idx_bad_magic", idx_images(20, 4, 4, magic=0x00000802))
copybytes("idx_trunc_images", idx_images(20, 4, 4)[: 16 + 100])
copybytes("idx_labels_19", idx_labels(19))
copybytes("idx_labels_trunc", idx_labels(20)[:15])
copybytes("idx_header_only", struct.pack(">I", 0x00000803))
copybytes("idx_huge_dims", struct.pack(">IIII", 0x00000803, 0xFFFFFFFF, 0xFFFF, 0xFFFF) + b"\0" * 64)
copybytes("idx_huge_labels", struct.pack(">II", 0x00000801, 0xFFFFFFFF) + b"\0" * 64)
copybytes("idx_zero_rows", idx_images(0, 4, 4))
copybytes("idx_zero_labels", idx_labels(0))
copybytes("idx_zero_dims", idx_images(20, 0, 4, payload=b""))
gz = gzip.compress(idx_images(20, 4, 4))
copybytes("idx_gz_cut.gz", gz[: len(gz) - 20])        # gzip stream that ends early
copybytes("idx_gz_garbage.gz", b"\x1f\x8b\x08\x00" + os.urandom(200))

# --- out-of-group DH public values for ffdhe2048 (RFC 7919 A.1) -------------
P_HEX = (
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B423861285C97FFFFFFFFFFFFFFFF")
p = int(P_HEX, 16)
q = (p - 1) // 2
def dh(name, v):
    copybytes("dh_" + name, v.to_bytes(256, "big"))
dh("zero", 0)
dh("one", 1)
dh("p_minus_1", p - 1)
dh("p", p)
dh("all_ff", 2 ** 2048 - 1)
nr = 3
while pow(nr, q, p) != p - 1:      # smallest quadratic non-residue (order 2q, not in the subgroup)
    nr += 1
dh("nonresidue", nr)

# --- checkpoints derived later by run.sh (needs a real one) ------------------
print("fixtures written to", out)
