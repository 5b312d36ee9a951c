#!/usr/bin/env bash
# build.sh - configure and build fedsilo out of tree in ./build (idempotent:
# reruns only what changed).  Extra arguments go to configure on the first
# run.  Prints the path of the fedsilo binary on success.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${FS_BUILD_DIR:-$top/build}
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" -q "$@"
make -j"$(nproc)" >/dev/null
echo "$build/fedsilo"
