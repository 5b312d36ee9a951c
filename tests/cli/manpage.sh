#!/bin/sh
# Every flag that a subcommand's --help prints is documented in fedsilo(1),
# and the man page renders without warnings.
. "${FS_SRCDIR:-.}/tests/lib.sh"
MAN="$FS_SRCDIR/docs/fedsilo.1"
# Flags as the man page spells them: \-\-name -> --name
sed 's/\\-/-/g' "$MAN" > "$WORK/man.txt"
missing=0
for cmd in "import" "split" "split --vertical" "inspect" "schema" "schema draft" "schema check" "train" "eval" "predict" "export" "keygen" "bench secsum" "plot" "dp epsilon" "dp calibrate" "stats" "ridge" "vfl-split" "vfl-train" "psi"; do
  "$FEDSILO" $cmd --help > "$WORK/help.txt" 2>&1 || fail "fedsilo $cmd --help failed"
  for flag in $(grep -oE -- '--[a-z][a-z0-9-]*' "$WORK/help.txt" | sort -u); do
    case "$flag" in --help|--mpi) continue ;; esac
    if ! grep -q -- "$flag\b" "$WORK/man.txt"; then
      echo "fedsilo $cmd: $flag is not in fedsilo(1)"; missing=$((missing + 1))
    fi
  done
done
[ $missing -eq 0 ] || fail "$missing flags undocumented"
if command -v groff >/dev/null 2>&1; then
  groff -man -Tutf8 -ww -z "$MAN" 2> "$WORK/groff.txt"
  [ ! -s "$WORK/groff.txt" ] || { cat "$WORK/groff.txt"; fail "groff warnings"; }
fi
note PASS
