#!/bin/sh
# fedsilo plot: the curves of a real 3-round run (and of synthetic runs with
# evaluation gaps, a regression task and epsilon) become valid PNGs of the
# requested size that show the curves; clear errors for a missing run
# directory, missing or empty metrics, a bad --size and a missing gnuplot.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/ux/ux.sh"
CHECK="$UX_PYTHON $FS_SRCDIR/tests/ux/pngcheck.py"
"$FEDSILO" plot --help > "$WORK/help.txt" || fail "plot --help failed"
grep -q -- '--size WxH' "$WORK/help.txt" || fail "--help does not document --size"

# errors first: they need no gnuplot
expect_fail() {   # expect_fail STATUS PATTERN ARGS...: exit status and message (env: PLOT_ENV)
  st=$1; pat=$2; shift 2
  env FEDSILO_PROGRESS=off ${PLOT_ENV:-} "$FEDSILO" plot "$@" > "$WORK/out.txt" 2> "$WORK/err.txt"
  rc=$?
  [ $rc -eq "$st" ] || { cat "$WORK/err.txt"; fail "plot $*: exit $rc, expected $st"; }
  grep -q -- "$pat" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "plot $*: message lacks '$pat'"; }
  [ ! -s "$WORK/out.txt" ] || fail "plot $*: wrote to stdout on failure"
}
expect_fail 2 'missing RUNDIR'
expect_fail 2 "unknown option '--bogus'" "$WORK" --bogus
mkdir -p "$WORK/empty"
expect_fail 2 'needs WIDTHxHEIGHT' "$WORK/empty" --size 12x
expect_fail 1 'run directory .*/nope: No such file' "$WORK/nope"
expect_fail 1 'metrics.jsonl: No such file' "$WORK/empty"
: > "$WORK/empty/metrics.jsonl"
expect_fail 1 'has no rounds yet' "$WORK/empty"
echo '{"round": 1, "train_lo' > "$WORK/empty/metrics.jsonl"
expect_fail 1 'no valid rounds (1 malformed lines' "$WORK/empty"
# gnuplot missing: the message names the Debian package
mkdir -p "$WORK/one"
echo '{"round": 1, "train_loss": 0.5}' > "$WORK/one/metrics.jsonl"
PLOT_ENV=FEDSILO_GNUPLOT=gnuplot-not-installed-xyz
expect_fail 1 'apt-get install gnuplot-nox' "$WORK/one"
[ ! -e "$WORK/one/curves.png" ] || fail "a PNG was written without gnuplot"
# gnuplot failing mid-render leaves no PNG and no temporary file behind
cat > "$WORK/badgnuplot" <<'SH'
#!/bin/sh
[ "$1" = -e ] && { echo "  pngcairo  png terminal based on cairo"; exit 0; }
cat > /dev/null; echo "simulated gnuplot error" >&2; exit 1
SH
chmod +x "$WORK/badgnuplot"
PLOT_ENV=FEDSILO_GNUPLOT=$WORK/badgnuplot
expect_fail 1 'gnuplot: simulated gnuplot error' "$WORK/one"
PLOT_ENV=
[ -z "$(ls "$WORK/one" | grep -v metrics.jsonl)" ] || fail "failed render left files: $(ls "$WORK/one")"

if ! command -v gnuplot >/dev/null 2>&1; then
  [ "${CI:-}" = true ] && hard "gnuplot missing in CI (scripts/install-deps.sh data installs gnuplot-nox)"
  echo "skip: gnuplot not installed (apt-get install gnuplot-nox)"; exit 77
fi

# 1. a real run: 3 rounds, 3 institutions, secure aggregation without a roster
if [ -r "$FMNIST/train-images-idx3-ubyte.gz" ] || [ "${CI:-}" = true ]; then
  need_fmnist
  make_fmnist "$WORK/d" 1200 300 3 iid --val-fraction 0.2
  run_mpi 3 120 "$FEDSILO" train --data "$WORK/d/shards/site-%d.h5" --test "$WORK/d/test.h5" \
      --model mlp:16 --rounds 3 --insecure-no-auth yes --out "$WORK/run" --quiet \
      > "$WORK/train.txt" 2>&1 || { cat "$WORK/train.txt"; fail "training run failed"; }
  "$FEDSILO" plot "$WORK/run" > "$WORK/plot.txt" 2>&1 || { cat "$WORK/plot.txt"; fail "plot failed"; }
  cat "$WORK/plot.txt"
  grep -q "^plotted 3 rounds of $WORK/run (loss, accuracy) -> $WORK/run/curves.png (1200x800)" \
    "$WORK/plot.txt" || fail "unexpected summary"
  grep -q '^test_accuracy: last 0\.[0-9]*, best' "$WORK/plot.txt" || fail "no accuracy summary"
  # train (blue), validation (orange), test (green) curves are all drawn
  $CHECK "$WORK/run/curves.png" 1200 800 1f77b4 ff7f0e 2ca02c || fail "bad PNG of the real run"
  [ -z "$(ls "$WORK/run" | grep tmp)" ] || fail "temporary files left in the run directory"
else
  note "Fashion-MNIST not installed: synthetic runs only"
fi

# 2. synthetic: 40 rounds, evaluation every 4th round, a null loss, epsilon,
#    distributed-DP epsilon, nested arrays, a regression task; --out elsewhere and --size
mkdir -p "$WORK/syn"
"$UX_PYTHON" - "$WORK/syn/metrics.jsonl" <<'PY'
import json, math, sys
with open(sys.argv[1], "w") as f:
    for r in range(1, 41):
        d = {"round": r, "train_loss": 2 / math.sqrt(r)}
        if r % 4 == 0:
            d.update(val_loss=2.2 / math.sqrt(r), val_rmse=1 / r ** 0.3,
                     test_loss=2.3 / math.sqrt(r), test_rmse=1.1 / r ** 0.3)
        d.update(clipped=0, seconds=0.5, samples=1000, aggregation="secure",
                 epsilon=0.25 * math.sqrt(r), ddp_epsilon=0.1 * math.sqrt(r), ddp_clipped=0,
                 test_f1=[0.5, 0.25], test_confusion=[[3, 1], [0, 2]])
        line = json.dumps(d)
        if r == 7:
            line = line.replace('"train_loss": %r' % d["train_loss"], '"train_loss": null')
        f.write(line + "\n")
PY
"$FEDSILO" plot "$WORK/syn" --out "$WORK/syn.png" --size 900x1000 > "$WORK/syn.txt" 2>&1 \
  || { cat "$WORK/syn.txt"; fail "plot of the synthetic run failed"; }
cat "$WORK/syn.txt"
grep -q '(loss, rmse, epsilon) -> .*/syn.png (900x1000)' "$WORK/syn.txt" || fail "unexpected summary"
grep -q '^test_rmse: last 0\.36[0-9]*, best 0\.36[0-9]* (round 40)' "$WORK/syn.txt" \
  || fail "the best RMSE is the lowest"
[ ! -e "$WORK/syn/curves.png" ] || fail "--out ignored"
$CHECK "$WORK/syn.png" 900 1000 1f77b4 ff7f0e 2ca02c d62728 9467bd || fail "bad PNG of the synthetic run"

# 3. a single round (no x range) and an existing PNG is replaced
cp "$WORK/syn.png" "$WORK/one/curves.png"
"$FEDSILO" plot "$WORK/one" --size 400x300 > /dev/null || fail "plot of one round failed"
$CHECK "$WORK/one/curves.png" 400 300 1f77b4 || fail "bad PNG of a one-round run"
note PASS
