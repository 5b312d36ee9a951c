#!/usr/bin/env bash
# install-deps.sh - idempotent install of the Debian 12 packages fedsilo needs.
#
# Usage:  scripts/install-deps.sh [build] [data] [bench] [slurm] [netns] [fuzz] [all]
#   build  compilers, autotools, Open MPI, parallel HDF5, OpenBLAS, GMP,
#          OpenSSL, libsodium, check, libinih, jansson (default when no set is named)
#   data   Fashion-MNIST (dataset-fashion-mnist), scikit-learn's bundled
#          CSVs (python3-sklearn), h5py for format checks, R's table
#          packages (credit_data, PimaIndiansDiabetes2) for the schema and
#          GBDT tests, and python3-xgboost (the GBDT reference and export tests)
#   bench  python3-torch (the PyTorch baseline of bench/train_throughput)
#   slurm  slurm-wlm + munge + libpmix-dev (real single-host Slurm tests)
#   netns  iproute2, iptables, python3 (multi-host tests in namespaces)
#   fuzz   clang + libclang-rt-14-dev (libFuzzer, tests/fuzz/run.sh) and
#          valgrind (scripts/sanitize.sh)
#   all    every set above
#
# Must run as root.  Packages already installed are skipped; apt is not
# called at all when nothing is missing, so a second run takes < 1 s.
set -euo pipefail

BUILD_PKGS=(build-essential autoconf automake libtool pkg-config
            libopenmpi-dev openmpi-bin libopenblas-dev
            libhdf5-openmpi-dev hdf5-tools libgmp-dev check libssl-dev
            libsodium-dev libinih-dev zlib1g-dev libjansson-dev)
DATA_PKGS=(dataset-fashion-mnist python3-sklearn python3-h5py python3-numpy gnuplot-nox
           python3-xgboost r-base-core r-cran-modeldata r-cran-mlbench)
BENCH_PKGS=(python3-torch)
# Slurm's mpi_pmix plugin dlopen()s the unversioned libpmix.so that only
# libpmix-dev ships; without it `srun --mpi=pmix` cannot work.
SLURM_PKGS=(slurm-wlm munge libpmix-dev)
NETNS_PKGS=(iproute2 procps iputils-ping iptables python3)
# -fsanitize=fuzzer needs the compiler-rt static libraries of clang 14.
FUZZ_PKGS=(clang libclang-rt-14-dev valgrind)

want=()
[ $# -eq 0 ] && set -- build
for set_name in "$@"; do
  case "$set_name" in
    build) want+=("${BUILD_PKGS[@]}") ;;
    data)  want+=("${DATA_PKGS[@]}") ;;
    bench) want+=("${BENCH_PKGS[@]}") ;;
    slurm) want+=("${SLURM_PKGS[@]}") ;;
    netns) want+=("${NETNS_PKGS[@]}") ;;
    fuzz)  want+=("${FUZZ_PKGS[@]}") ;;
    all)   want+=("${BUILD_PKGS[@]}" "${DATA_PKGS[@]}" "${BENCH_PKGS[@]}"
                  "${SLURM_PKGS[@]}" "${NETNS_PKGS[@]}" "${FUZZ_PKGS[@]}") ;;
    *) echo "install-deps.sh: unknown set '$set_name' (build|data|bench|slurm|netns|fuzz|all)" >&2
       exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#want[@]} packages already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: missing packages (${missing[*]}) and not root; run as root" >&2
  exit 1
fi
echo "install-deps.sh: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -y -q)
"${APT[@]}" update
"${APT[@]}" install --no-install-recommends "${missing[@]}"
echo "install-deps.sh: done"
