#!/bin/sh
# check-layers.sh - enforce STYLE.md P1: includes point down the layer stack
#   core < crypto < data < train < secsum < fl, vfl, gbdt < cli
# A file in layer L may include only headers of layers <= L; library code
# never calls exit()/MPI_Init/printf-to-stdout; the CLI uses only <fedsilo...>.
# Exit 0 if clean, 1 with one line per violation.
set -u
src=${FS_SRCDIR:-$(dirname "$0")/..}/src
rank() {
  case "$1" in
    core) echo 0 ;; crypto) echo 1 ;; data) echo 2 ;; train) echo 3 ;;
    privacy) echo 3 ;; secsum) echo 4 ;; fl) echo 5 ;; vfl) echo 5 ;; gbdt) echo 5 ;; cli) echo 6 ;; *) echo 9 ;;
  esac
}
bad=0
for f in "$src"/*/*.c "$src"/*/*.h; do
  [ -f "$f" ] || continue
  layer=$(basename "$(dirname "$f")")
  lr=$(rank "$layer")
  for inc in $(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$f" | sort -u); do
    [ "$inc" = fedsilo ] && continue
    ir=$(rank "$inc")
    if [ "$ir" -gt "$lr" ]; then echo "layer violation: $f includes $inc/"; bad=1; fi
  done
  if [ "$layer" != cli ]; then
    if grep -nE '\b(exit|abort|MPI_Init|MPI_Abort|MPI_Finalize)\s*\(|\bprintf\s*\(|\b(rand|srand)\s*\(|\bassert\s*\(' "$f" \
         | grep -v '^[0-9]*:\s*/\?\*' >/dev/null; then
      grep -nE '\b(exit|abort|MPI_Init|MPI_Abort|MPI_Finalize)\s*\(|\bprintf\s*\(|\b(rand|srand)\s*\(|\bassert\s*\(' "$f" \
        | sed "s|^|forbidden call in library: $f:|"
      bad=1
    fi
  else
    if grep -nE '^#include "(core|data|train|crypto|secsum|fl|privacy|vfl|gbdt)/|_impl\.h"' "$f" >/dev/null; then
      echo "CLI uses a private header: $f"; bad=1
    fi
  fi
done
[ $bad -eq 0 ] && echo "check-layers: clean"
exit $bad
