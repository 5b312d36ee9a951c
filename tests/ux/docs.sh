#!/bin/sh
# The user documentation stays in step with the program: every flag that
# `fedsilo train --help` prints has a row in docs/config.md, and every
# relative link in the user guide, the configuration reference, the FAQ, the
# tables chapter and examples/api/README.md names a file that exists.
. "${FS_SRCDIR:-.}/tests/lib.sh"
CFG="$FS_SRCDIR/docs/config.md"
"$FEDSILO" train --help > "$WORK/help.txt" 2>&1 || fail "fedsilo train --help failed"
missing=0
# --mpi belongs to srun (srun --mpi=pmix) in the usage lines
grep -oE -- '--[a-z][a-z0-9-]*' "$WORK/help.txt" | grep -v '^--mpi$' | sort -u > "$WORK/flags.txt"
for flag in $(cat "$WORK/flags.txt"); do
  grep -q -- "\`$flag\`" "$CFG" || { echo "$flag is not documented in docs/config.md"; missing=$((missing + 1)); }
done
[ $missing -eq 0 ] || fail "$missing train flags missing from docs/config.md"
n=$(wc -l < "$WORK/flags.txt")
note "all $n flags of fedsilo train --help are in docs/config.md"
bad=0
for doc in docs/user-guide.md docs/config.md docs/faq.md docs/tables.md examples/api/README.md; do
  dir=$(dirname "$FS_SRCDIR/$doc")
  for target in $(grep -oE '\]\([^)#]+' "$FS_SRCDIR/$doc" | sed 's/^](//' | grep -v '^[a-z]*:'); do
    [ -e "$dir/$target" ] || { echo "$doc links to $target, which does not exist"; bad=$((bad + 1)); }
  done
done
[ $bad -eq 0 ] || fail "$bad broken links"
note PASS
