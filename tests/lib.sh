# tests/lib.sh - shared helpers for fedsilo's shell tests (sourced).
#
# Environment (from AM_TESTS_ENVIRONMENT): MPIEXEC, MPIEXEC_FLAGS,
# FS_SRCDIR, FS_BUILDDIR.  Exit codes follow automake: 0 pass, 77 skip,
# 99 hard error (the test could not set itself up), anything else fail.
set -u
FS_BUILDDIR=${FS_BUILDDIR:-$(pwd)}
FS_SRCDIR=${FS_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
FEDSILO="$FS_BUILDDIR/fedsilo"
MPIEXEC=${MPIEXEC:-mpirun}
MPIEXEC_FLAGS=${MPIEXEC_FLAGS---oversubscribe}
FMNIST=${FS_FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
export OPENBLAS_NUM_THREADS=1
# Open MPI refuses root unless both variables are set (CI runs as root).
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
: "${OMPI_MCA_btl_vader_single_copy_mechanism:=none}"
: "${OMPI_MCA_btl_base_warn_component_unused:=0}"
: "${OMPI_MCA_rmaps_base_oversubscribe:=1}"
export OMPI_MCA_btl_vader_single_copy_mechanism OMPI_MCA_btl_base_warn_component_unused \
       OMPI_MCA_rmaps_base_oversubscribe

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fedsilo-$TEST_NAME.XXXXXX") || exit 99
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL ($TEST_NAME): $*" >&2; exit 1; }
hard() { echo "ERROR ($TEST_NAME): $*" >&2; exit 99; }
note() { echo "[$TEST_NAME] $*"; }

# run_mpi NP TIMEOUT CMD...: mpirun with a hard timeout; a hang is a failure
# (timeout exits 124).  Output goes to the caller's redirections.
run_mpi() {
  np=$1; tmo=$2; shift 2
  # shellcheck disable=SC2086
  timeout -k 5 "$tmo" "$MPIEXEC" $MPIEXEC_FLAGS -np "$np" "$@" </dev/null
}

# need WHAT: in CI (root, every package installed) a missing precondition is a
# hard error; elsewhere the test is skipped.
need() {
  [ "${CI:-}" = true ] && hard "$*"
  echo "skip: $*"; exit 77
}

# need_fmnist: skip outside CI when Debian's dataset-fashion-mnist is absent.
need_fmnist() {
  if [ ! -r "$FMNIST/train-images-idx3-ubyte.gz" ]; then
    need "$FMNIST not found (scripts/install-deps.sh data: dataset-fashion-mnist)"
  fi
}

# need_sklearn: sets PY (python3 with sklearn, h5py, numpy) and SK (the
# directory of scikit-learn's bundled CSVs); skip outside CI when missing.
# The modules are looked up, not imported (importing sklearn takes a second).
need_sklearn() {
  PY=/usr/bin/python3
  SK=/usr/lib/python3/dist-packages/sklearn/datasets/data
  if [ ! -r "$SK/breast_cancer.csv" ] || ! $PY -c 'import importlib.util as u, sys
sys.exit(not all(u.find_spec(m) for m in ("sklearn", "h5py", "numpy")))' 2>/dev/null; then
    need "python3 with sklearn, h5py and numpy, or $SK/breast_cancer.csv, not found (scripts/install-deps.sh)"
  fi
}

# need_xgboost: need_sklearn, and /usr/bin/python3 can import xgboost; skip
# outside CI when it cannot.
need_xgboost() {
  need_sklearn
  $PY -c 'import xgboost' 2>/dev/null || need "/usr/bin/python3 cannot import xgboost (python3-xgboost)"
}

# need_rdata: Rscript with R's modeldata and mlbench dataset packages, and
# PY (python3 with h5py, numpy); skip outside CI when missing.
need_rdata() {
  PY=/usr/bin/python3
  if ! command -v Rscript >/dev/null 2>&1 ||
     ! Rscript -e 'library(modeldata); library(mlbench)' >/dev/null 2>&1 ||
     ! $PY -c 'import h5py, numpy' 2>/dev/null; then
    need "Rscript with modeldata and mlbench, or python3 with h5py and numpy, not found (scripts/install-deps.sh data)"
  fi
}

# make_fmnist DIR NTRAIN NTEST NSILOS METHOD [extra split flags]: small
# Fashion-MNIST federation in DIR (train.h5, test.h5, shards/site-*.h5).
make_fmnist() {
  dir=$1; ntr=$2; nte=$3; ns=$4; method=$5; shift 5
  mkdir -p "$dir"
  "$FEDSILO" import idx --images "$FMNIST/train-images-idx3-ubyte.gz" \
      --labels "$FMNIST/train-labels-idx1-ubyte.gz" --limit "$ntr" --out "$dir/train.h5" >/dev/null \
    || hard "import train failed"
  "$FEDSILO" import idx --images "$FMNIST/t10k-images-idx3-ubyte.gz" \
      --labels "$FMNIST/t10k-labels-idx1-ubyte.gz" --limit "$nte" --out "$dir/test.h5" >/dev/null \
    || hard "import test failed"
  "$FEDSILO" split --input "$dir/train.h5" --silos "$ns" --method "$method" --seed 7 \
      --outdir "$dir/shards" "$@" >/dev/null || hard "split failed"
}

# h5attr FILE ATTR: print a scalar attribute's value with h5dump.
h5attr() {
  h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): *//p' | tr -d '"' | head -1
}

# same_model A.h5 B.h5 WHAT: fail unless the two checkpoints hold the same
# model_hash and the same parameter bytes; prints the hash.
same_model() {
  ha=$(h5attr "$1" model_hash); hb=$(h5attr "$2" model_hash)
  [ -n "$ha" ] && [ "$ha" = "$hb" ] || fail "$3: model_hash $ha vs $hb"
  h5dump -d /params "$1" | grep -v '^HDF5' > "$WORK/same_model.a"
  h5dump -d /params "$2" | grep -v '^HDF5' > "$WORK/same_model.b"
  cmp -s "$WORK/same_model.a" "$WORK/same_model.b" || fail "$3: parameter bytes differ"
  echo "$ha"
}
