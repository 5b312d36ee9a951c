#!/bin/sh
# tests/hostile/run.sh - the hostile-input corpus (issue 7).
#
# Every case in tests/hostile/cases.txt feeds ONE bad input to the real
# fedsilo binary ($FS_BUILDDIR/fedsilo; under mpirun when training is
# involved) and checks that
#   - it exits with the expected status (1 runtime, 2 usage; "nz" = any
#     non-zero), and every MPI rank that exits records a non-zero status
#     (tests/hostile/rankwrap.sh),
#   - it ends within 60 s (a hang is a failure, not a pass),
#   - one message matches the case's regex (naming the rank, file, problem),
#   - the case's post-check holds where it has one (post_<name> below: e.g.
#     the previous checkpoint is byte-identical and still loads with eval).
# Fixtures are generated here (tests/hostile/mkfixtures.py with h5py/numpy),
# never committed.  One line per case (PASS/FAIL/XFAIL/XPASS/SKIP name) and a
# total; exit 0 only if no case FAILed or XPASSed (an XPASS means a bug marked
# "# BUG:" in cases.txt is fixed: flip the case to its plain status).
#
# Usage: tests/hostile/run.sh [-v] [GLOB...]    (GLOB selects case names)
# Environment: FS_BUILDDIR (default: cwd), FS_SRCDIR, MPIEXEC, MPIEXEC_FLAGS;
# FS_HOSTILE_KEEP=1 keeps the work directory.
. "${FS_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
HERE="$FS_SRCDIR/tests/hostile"
PY=/usr/bin/python3
VERBOSE=0
[ "${1:-}" = -v ] && { VERBOSE=1; shift; }
GLOBS="$*"
[ "${FS_HOSTILE_KEEP:-}" = 1 ] && trap 'echo "kept $WORK"' EXIT
LIMIT=60          # every case must end within this many seconds
TMO=90            # hard timeout: a case that reaches it hung

[ -x "$FEDSILO" ] || hard "no fedsilo binary at $FEDSILO (set FS_BUILDDIR)"
if ! $PY -c 'import h5py, numpy' 2>/dev/null; then
  [ "${CI:-}" = true ] && hard "python3-h5py/numpy missing in CI (scripts/install-deps.sh data)"
  echo "skip: $PY cannot import h5py and numpy (scripts/install-deps.sh data)"; exit 77
fi

# ---------------------------------------------------------------- set-up
D=$WORK/data; FX=$WORK/fx; K=$WORK/keys
mkdir -p "$D" "$FX"
# Synthetic data (no dataset package needed): 400 x 12, 3 classes; a test file.
$PY - "$D" <<'PY' || hard "cannot write the synthetic CSV"
import sys, numpy as np
d = sys.argv[1]
for name, n, seed in (("base", 400, 1), ("test", 80, 2)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    with open("%s/%s.csv" % (d, name), "w") as f:
        f.write(",".join(["f%d" % i for i in range(12)] + ["label"]) + "\n")
        for i in range(n):
            f.write(",".join("%.4f" % v for v in X[i]) + ",%d\n" % y[i])
PY
"$FEDSILO" import csv --input "$D/base.csv" --label label --out "$D/base.h5" >/dev/null || hard "import base"
"$FEDSILO" import csv --input "$D/test.csv" --label label --out "$D/test.h5" >/dev/null || hard "import test"
"$FEDSILO" split --input "$D/base.h5" --silos 4 --val-fraction 0.1 --outdir "$D/good" >/dev/null \
  || hard "split"
GOOD="$D/good/site-%d.h5"
$PY "$HERE/mkfixtures.py" "$D/good/site-0.h5" "$FX" >/dev/null || hard "mkfixtures.py failed"
make_consortium "$K" 4

# Bad identity keys.
BADKEYS=$WORK/badkeys; mkdir -p "$BADKEYS"
"$FEDSILO" keygen --name stranger --out "$BADKEYS/stranger" >/dev/null 2>&1 || hard "keygen"
if command -v openssl >/dev/null 2>&1; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$BADKEYS/rsa.key" 2>/dev/null
  openssl genpkey -algorithm X25519 -out "$BADKEYS/x25519.key" 2>/dev/null
  openssl genpkey -algorithm ed25519 -aes256 -pass pass:hostile -out "$BADKEYS/encrypted.key" 2>/dev/null
fi

# A checkpoint from a finished authenticated run (previous-checkpoint checks,
# corrupt-checkpoint fixtures).
SEC="--roster $K/roster.ini --identity $K/site-%d.key"
NOAUTH="--insecure-no-auth yes"
M="--model softmax --rounds 1"
run_mpi 4 120 "$FEDSILO" train --data "$GOOD" --model softmax --rounds 2 $SEC --out "$D/prev" \
    --quiet >"$WORK/prev.txt" 2>&1 || { cat "$WORK/prev.txt"; hard "reference run failed"; }
$PY "$HERE/mkfixtures.py" --checkpoint "$D/prev/checkpoint.h5" "$FX" >/dev/null || hard "checkpoint fixtures"

# The transport attackers (LD_PRELOAD): built by `make check`, else compiled here.
preload() {  # preload LIBNAME SOURCE -> path of the .so
  for p in "$FS_BUILDDIR/tests/hostile/.libs/$1.so" "$FS_BUILDDIR/tests/spy/.libs/$1.so"; do
    [ -r "$p" ] && { echo "$p"; return 0; }
  done
  ${MPICC:-mpicc} -shared -fPIC -O1 -o "$WORK/$1.so" "$2" 2>"$WORK/$1.log" || return 1
  echo "$WORK/$1.so"
}
REPLAY=$(preload libfsreplay "$HERE/replay.c") || hard "cannot build tests/hostile/replay.c"
SPY=$(preload libfsspy "$FS_SRCDIR/tests/spy/fs_mpispy.c") || hard "cannot build the spy library"

# ---------------------------------------------------------------- helpers
# Variables forwarded to every rank (empty = inactive).
FS_HOSTILE_PRELOAD=; FS_REPLAY_RECORD=; FS_REPLAY_INJECT=; FS_REPLAY_MINBLOCK=; FS_REPLAY_NTH=
FS_SPY_TAMPER=
export FS_HOSTILE_PRELOAD FS_REPLAY_RECORD FS_REPLAY_INJECT FS_REPLAY_MINBLOCK FS_REPLAY_NTH FS_SPY_TAMPER
# with_bad RANK FIXTURE: a shard directory whose site-RANK.h5 is the fixture
# (FX/FIXTURE.h5 or a path) and every other shard is good; prints the pattern.
with_bad() {
  dir="$W/shards"; mkdir -p "$dir"
  for i in 0 1 2 3; do ln -sf "$D/good/site-$i.h5" "$dir/site-$i.h5"; done
  case $2 in /*) src=$2 ;; *) src="$FX/$2.h5" ;; esac
  rm -f "$dir/site-$1.h5"; ln -s "$src" "$dir/site-$1.h5"
  echo "$dir/site-%d.h5"
}
# keys_with RANK FILE|-: a key directory like K whose site-RANK.key is replaced
# by FILE (copied, mode 0600) or removed (-); prints the --identity pattern.
keys_with() {
  dir="$W/keys"; mkdir -p "$dir"
  for i in 0 1 2 3; do cp -p "$K/site-$i.key" "$dir/"; done
  rm -rf "$dir/site-$1.key"
  [ "$2" = - ] || { cp "$2" "$dir/site-$1.key"; chmod 600 "$dir/site-$1.key"; }
  echo "$dir/site-%d.key"
}
# roster_edit SED-SCRIPT: a copy of the roster edited with sed; prints its path.
roster_edit() { sed "$1" "$K/roster.ini" > "$W/roster.ini"; echo "$W/roster.ini"; }
# train NP ARGS...: `fedsilo train ARGS` on NP ranks, every rank wrapped.
train() {
  np=$1; shift
  export FS_HOSTILE_RANKS="$W/ranks"; mkdir -p "$FS_HOSTILE_RANKS"
  run_mpi "$np" "$TMO" -x FS_HOSTILE_RANKS -x FS_HOSTILE_PRELOAD -x FS_REPLAY_RECORD \
      -x FS_REPLAY_INJECT -x FS_REPLAY_MINBLOCK -x FS_REPLAY_NTH -x FS_SPY_TAMPER \
      sh "$HERE/rankwrap.sh" "$FEDSILO" train "$@"
}
# attack PRELOAD VAR=VALUE NP ARGS...: train with a transport attacker.
attack() {
  lib=$1; kv=$2; shift 2
  ( export FS_HOSTILE_PRELOAD="$lib" "${kv%%=*}=${kv#*=}"; train "$@" )
}
# fs ARGS...: one fedsilo process (no MPI).
fs() { timeout -k 5 "$TMO" "$FEDSILO" "$@" </dev/null; }
# mkf NAME CONTENT: write a text fixture (printf format) in W and print its path.
mkf() { printf "$2" > "$W/$1"; echo "$W/$1"; }
csv() { mkf "$1.csv" "$2"; }
ini() { mkf "$1.ini" "$2"; }
# The schema of the schema cases: a label, a numeric column with a range,
# a categorical column (written to W/sc.ini; prints its path).
SCHEMA='[column y]\nkind = label\nclasses = good, bad\n[column age]\nkind = numeric\nrange = 0:120\n[column home]\nkind = categorical\ncategories = rent, own\n'
sc() { ini sc "$SCHEMA"; }
# schema_shard NAME CELL: D/base.csv with row 5, column f3 set to CELL,
# imported with a schema drafted from D/base.csv; prints the .h5 path.
schema_shard() {
  [ -r "$D/base-schema.ini" ] || "$FEDSILO" schema draft --input "$D/base.csv" --label label \
      --out "$D/base-schema.ini" >/dev/null || return 99
  awk -F, -v OFS=, -v cell="$2" 'NR == 6 { $4 = cell } { print }' "$D/base.csv" > "$W/$1.csv"
  "$FEDSILO" import csv --input "$W/$1.csv" --schema "$D/base-schema.ini" --out "$W/$1.h5" \
      >/dev/null || return 99
  echo "$W/$1.h5"
}
# schema_tampered: a schema shard whose schema_hash attribute was edited.
schema_tampered() {
  p=$(schema_shard tampered 1.5) || return 99
  $PY -c 'import h5py, sys
f = h5py.File(sys.argv[1], "r+"); h = f.attrs["schema_hash"]
f.attrs["schema_hash"] = ("1" if h[0] == "0" else "0") + h[1:]' "$p" || return 99
  echo "$p"
}
# schema_sites R: a shard pattern where every rank has D/base.csv imported
# with the drafted schema, but rank R's schema imputes f3 by median (another
# canonical hash); prints the pattern.
schema_sites() {
  p=$(schema_shard sites 1.5) || return 99
  awk '/^\[column / { c = $2 } c == "f3]" && /^impute/ { $0 = "impute = median" } { print }' \
      "$D/base-schema.ini" > "$W/other-schema.ini"
  "$FEDSILO" import csv --input "$W/sites.csv" --schema "$W/other-schema.ini" --out "$W/other.h5" \
      >/dev/null || return 99
  dir="$W/sshards"; mkdir -p "$dir"
  for i in 0 1 2 3; do ln -sf "$p" "$dir/site-$i.h5"; done
  ln -sf "$W/other.h5" "$dir/site-$1.h5"
  echo "$dir/site-%d.h5"
}
# vocab_shard: D/base.csv with its labels 0/1/2 written as words, imported
# without a schema (class names high/low/mid, not 0/1/2); prints the path.
vocab_shard() {
  awk -F, -v OFS=, 'NR > 1 { $13 = ($13 == 0 ? "low" : $13 == 1 ? "mid" : "high") } { print }' \
      "$D/base.csv" > "$W/words.csv"
  "$FEDSILO" import csv --input "$W/words.csv" --label label --out "$W/words.h5" >/dev/null \
      || return 99
  echo "$W/words.h5"
}
# roster_renamed [I=PATH...]: a copy of the roster whose institutions are
# named hosp-<i> (so the shards' institution attributes site-<i> name no
# roster member), with a data = PATH line for each institution I given.
roster_renamed() {
  sed 's/^\[institution "site-\([0-9]*\)"\]/[institution "hosp-\1"]/' "$K/roster.ini" > "$W/roster.ini"
  for kv in "$@"; do
    sed -i "/^\[institution \"hosp-${kv%%=*}\"\]/a data = ${kv#*=}" "$W/roster.ini"
  done
  echo "$W/roster.ini"
}
# roster_same_key: a roster in which site-1 carries site-0's public key.
roster_same_key() {
  k0=$(grep -m1 '^public_key' "$K/roster.ini")
  awk -v k="$k0" '/^public_key/ && ++n == 2 { print k; next } { print }' "$K/roster.ini" > "$W/roster.ini"
  echo "$W/roster.ini"
}
# key_case RANK KIND: rank RANK runs with a bad key from BADKEYS (rsa, x25519,
# encrypted: made with the openssl tool; stranger: a valid key not in the roster).
key_case() {
  [ -r "$BADKEYS/$2.key" ] || { echo "skip: no $2 key (openssl tool missing?)"; return 77; }
  train 4 --data "$GOOD" $M --roster "$K/roster.ini" --identity "$(keys_with "$1" "$BADKEYS/$2.key")" \
      --out "$W/run"
}
# prev_run: a copy of the finished reference run, to resume from.
prev_run() { cp -a "$D/prev" "$W/run"; echo "$W/run"; }
# gbdt_prev: a 2-round GBDT run (train --model gbdt) on the good shards,
# made once; prints its directory.
gbdt_prev() {
  [ -r "$D/gbdt/checkpoint.h5" ] || run_mpi 4 120 "$FEDSILO" train --data "$GOOD" --model gbdt \
      --trees 2 --max-depth 3 $NOAUTH --quiet --out "$D/gbdt" >/dev/null 2>&1 || return 99
  echo "$D/gbdt"
}
# gbdt_run: a copy of that run directory in W/run; prints it.
gbdt_run() { p=$(gbdt_prev) || return 99; cp -a "$p" "$W/run"; echo "$W/run"; }
# gbdt_tampered PY: a copy of its checkpoint edited by the h5py statement PY
# (f is the file); prints its path.
gbdt_tampered() {
  p=$(gbdt_prev) || return 99
  cp "$p/checkpoint.h5" "$W/gbdt_tampered.h5"
  $PY -c "import h5py, sys
f = h5py.File(sys.argv[1], 'r+')
$1" "$W/gbdt_tampered.h5" || return 99
  echo "$W/gbdt_tampered.h5"
}
# ckpt_unchanged: post-check that the previous checkpoint is byte-identical
# and still loads and evaluates.
ckpt_unchanged() {
  cmp -s "$D/prev/checkpoint.h5" "$W/run/checkpoint.h5" || { echo "checkpoint changed"; return 1; }
  "$FEDSILO" eval --checkpoint "$W/run/checkpoint.h5" --data "$D/test.h5" >/dev/null \
    || { echo "previous checkpoint no longer loads"; return 1; }
  ! ls "$W/run"/checkpoint.h5.tmp.* >/dev/null 2>&1 || { echo "temporary checkpoint left"; return 1; }
}
no_ckpt() { [ ! -e "$W/run/checkpoint.h5" ] || { echo "a checkpoint was written"; return 1; }; }

# ---- cases with their own set-up (referenced from cases.txt) -------------
# Replay: record rank 1's signed DH message in job 1, inject it in job 2.
replay_dh() {
  ( export FS_HOSTILE_PRELOAD="$REPLAY" FS_REPLAY_RECORD="$W/blob-1.bin:1"
    train 4 --data "$GOOD" $M $SEC --out "$W/job1" --quiet ) >"$W/job1.txt" 2>&1 \
    || { cat "$W/job1.txt"; echo "recording job failed"; return 99; }
  [ -s "$W/blob-1.bin" ] || { echo "nothing recorded"; return 99; }
  rm -rf "$W/ranks"
  attack "$REPLAY" FS_REPLAY_INJECT="$W/blob-1.bin:0:1" 4 --data "$GOOD" $M $SEC --out "$W/run" "$@"
}
# Replay of a nonce (the first allgather, 32-byte blocks) from an earlier job.
replay_nonce() {
  ( export FS_HOSTILE_PRELOAD="$REPLAY" FS_REPLAY_RECORD="$W/nonce-2.bin:2" FS_REPLAY_MINBLOCK=32
    train 4 --data "$GOOD" $M $SEC --out "$W/job1" --quiet ) >"$W/job1.txt" 2>&1 \
    || { cat "$W/job1.txt"; echo "recording job failed"; return 99; }
  [ -s "$W/nonce-2.bin" ] || { echo "nothing recorded"; return 99; }
  rm -rf "$W/ranks"
  ( export FS_HOSTILE_PRELOAD="$REPLAY" FS_REPLAY_INJECT="$W/nonce-2.bin:1:2" FS_REPLAY_MINBLOCK=32
    train 4 --data "$GOOD" $M $SEC --out "$W/run" )
}
# Without a roster a replayed DH value is a valid group element: key setup
# accepts it and the canary must stop the first secure sum.
replay_dh_noauth() {
  ( export FS_HOSTILE_PRELOAD="$REPLAY" FS_REPLAY_RECORD="$W/blob-3.bin:3"
    train 4 --data "$GOOD" $M $NOAUTH --out "$W/job1" --quiet ) >"$W/job1.txt" 2>&1 \
    || { cat "$W/job1.txt"; echo "recording job failed"; return 99; }
  rm -rf "$W/ranks"
  attack "$REPLAY" FS_REPLAY_INJECT="$W/blob-3.bin:0:3" 4 --data "$GOOD" $M $NOAUTH --out "$W/run"
}
# Forged signature under ffdhe3072 (secure.sh covers ffdhe2048).
forged_3072() {
  sed 's/^name = test/name = test\ndh_group = ffdhe3072/' "$K/roster.ini" > "$W/r3072.ini"
  attack "$SPY" FS_SPY_TAMPER=allgather:2:0 4 --data "$GOOD" $M --roster "$W/r3072.ini" \
      --identity "$K/site-%d.key" --out "$W/run"
}
# Full disk during a checkpoint: a tmpfs with room for one checkpoint of an
# MLP (about 560 kB) but not for the temporary file of the next one.
full_disk() {
  mnt="$W/tmpfs"; mkdir -p "$mnt"
  if ! mount -t tmpfs -o size=900k fedsilo-hostile "$mnt" 2>/dev/null; then
    [ "${CI:-}" = true ] && { echo "cannot mount a tmpfs in CI"; return 99; }
    echo "skip: cannot mount a tmpfs (not root?)"; return 77
  fi
  train 4 --data "$GOOD" --model mlp:512,256 --rounds 4 $NOAUTH --out "$mnt/run"
  rc=$?
  # keep what the post-check needs, then release the mount
  cp -a "$mnt/run" "$W/run" 2>/dev/null; ls -la "$mnt/run"
  umount "$mnt" 2>/dev/null || umount -l "$mnt"
  return $rc
}
post_full_disk() {
  ! ls "$W/run"/checkpoint.h5.tmp.* >/dev/null 2>&1 || { echo "temporary checkpoint left"; return 1; }
  out=$("$FEDSILO" eval --checkpoint "$W/run/checkpoint.h5" --data "$D/test.h5") \
    || { echo "the round-1 checkpoint does not load"; return 1; }
  echo "$out"
  echo "$out" | grep -q '(round 1,' || { echo "expected the round-1 checkpoint"; return 1; }
}
# A read-only file system (root ignores chmod): a read-only bind mount.
readonly_out() {
  ro="$W/ro"; mkdir -p "$ro"
  if ! { mount --bind "$ro" "$ro" && mount -o remount,bind,ro "$ro"; } 2>/dev/null; then
    umount "$ro" 2>/dev/null
    [ "${CI:-}" = true ] && { echo "cannot make a read-only bind mount in CI"; return 99; }
    echo "skip: cannot make a read-only bind mount (not root?)"; return 77
  fi
  train 2 --data "$GOOD" $M $NOAUTH --out "$ro/run"
  rc=$?
  umount "$ro" 2>/dev/null || umount -l "$ro"
  return $rc
}
# No raw control bytes (ESC, BEL) from the hostile file may reach the terminal.
post_ini_escape_sequence() {
  ! tr -d '\n\t' < "$W/out.txt" | LC_ALL=C grep -q '[[:cntrl:]]' || { echo "raw control bytes in the message"; return 1; }
}
post_schema_escape_sequence() { post_ini_escape_sequence; }
post_resume_bad_shard() { ckpt_unchanged; }
post_resume_forged() { ckpt_unchanged; }
post_resume_other_model() { ckpt_unchanged; }
post_resume_roster_gap() { ckpt_unchanged; }
post_forged_3072() { no_ckpt; }
post_replay_dh() { no_ckpt; }
post_replay_nonce() { no_ckpt; }

# ---------------------------------------------------------------- runner
npass=0; nfail=0; nxfail=0; nskip=0; ntotal=0; failed=""
t_all=$(date +%s)
i=0
while IFS= read -r line || [ -n "$line" ]; do
  case $line in ''|'#'*) continue ;; esac
  i=$((i + 1))
  W="$WORK/case-$i"; mkdir -p "$W"; cd "$W" || hard "cd $W"
  eval "set -- $line" || hard "cases.txt: cannot parse: $line"
  name=$1; want=$2; re=$3; shift 3
  if [ $# -gt 0 ] && [ "$1" = -- ]; then shift; fi
  sel=1
  if [ -n "${GLOBS:-}" ]; then
    sel=0; set -f; for g in $GLOBS; do case $name in $g) sel=1 ;; esac; done; set +f
  fi
  [ $sel = 1 ] || continue
  ntotal=$((ntotal + 1))
  xfail=0; case $want in xfail:*) xfail=1; want=${want#xfail:} ;; esac
  t0=$(date +%s)
  "$@" >"$W/out.txt" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  why=""
  if [ $rc -eq 77 ] && grep -q '^skip:' "$W/out.txt"; then
    if [ "${CI:-}" = true ]; then why="skipped in CI"; else
      echo "SKIP  $name ($(grep -m1 '^skip:' "$W/out.txt"))"; nskip=$((nskip + 1)); continue
    fi
  elif [ $rc -eq 99 ]; then why="case set-up failed"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="hung: timeout after ${secs}s"
  elif [ $secs -ge $LIMIT ]; then why="took ${secs}s (limit ${LIMIT}s)"
  elif [ $rc -eq 0 ]; then why="exit 0 (the bad input was accepted)"
  elif [ "$want" != nz ] && [ $rc -ne "$want" ]; then why="exit $rc, expected $want"
  elif ! grep -Eq -- "$re" "$W/out.txt"; then why="no message matching /$re/"
  elif [ -d "$W/ranks" ] && grep -lx 0 "$W/ranks"/rank-* >/dev/null 2>&1; then
    why="rank(s) $(grep -lx 0 "$W/ranks"/rank-* | sed 's/.*rank-//' | tr '\n' ' ')exited 0"
  elif command -v "post_$name" >/dev/null 2>&1 && ! "post_$name" >"$W/post.txt" 2>&1; then
    why="post-check: $(tail -1 "$W/post.txt")"
  fi
  if [ -z "$why" ] && [ $xfail = 0 ]; then
    npass=$((npass + 1)); echo "PASS  $name (exit $rc, ${secs}s)"
  elif [ -z "$why" ]; then
    nfail=$((nfail + 1)); failed="$failed $name"
    echo "XPASS $name (marked # BUG in cases.txt but passes now: flip it)"
  elif [ $xfail = 1 ]; then
    nxfail=$((nxfail + 1)); echo "XFAIL $name ($why)"
  else
    nfail=$((nfail + 1)); failed="$failed $name"
    echo "FAIL  $name: $why"
  fi
  if { [ -n "$why" ] && [ $xfail = 0 ]; } || [ $VERBOSE = 1 ]; then
    sed 's/^/    | /' "$W/out.txt" | grep -v -E '^    \| *$|^    \| -{20}' | tail -25
  fi
done < "${FS_HOSTILE_CASES:-$HERE/cases.txt}"
cd "$WORK/.." || true
echo "hostile: $npass passed, $nfail failed, $nxfail expected failures (known bugs), $nskip skipped;" \
     "$ntotal cases in $(( $(date +%s) - t_all ))s${failed:+; failed:$failed}"
[ $nfail -eq 0 ]
