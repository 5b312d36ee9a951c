#!/bin/sh
# The layer checker (scripts/check-layers.sh) passes on the tree and fails
# on planted back-edges, each in a fresh scratch copy of src/ and include/:
#   a public header of a higher layer in a crypto file ("fedsilo/fs_fl.h");
#   a bare internal header of a higher layer ("fs_fed_impl.h") in data;
#   a program including another program ("fl/fs_fl_impl.h" in stats);
#   a public header including a higher public header (fs_crypto.h -> fs_secagg.h);
#   <fedsilo.h> (the CLI's umbrella) in library code;
#   printf in library code; an unmapped public header.
# Each must be reported with its own line and exit status 1.
. "${FS_SRCDIR:-.}/tests/lib.sh"
CHECK="$FS_SRCDIR/scripts/check-layers.sh"
fresh() {   # fresh DIR: a scratch copy of the tree the checker reads
  rm -rf "$1"; mkdir -p "$1/scripts"
  cp -r "$FS_SRCDIR/src" "$FS_SRCDIR/include" "$1/" || hard "copy failed"
  cp "$CHECK" "$1/scripts/"
}
fresh "$WORK/clean"
FS_SRCDIR="$WORK/clean" sh "$WORK/clean/scripts/check-layers.sh" > "$WORK/clean.txt" 2>&1 \
  || { cat "$WORK/clean.txt"; fail "the checker fails on the clean tree"; }
n=0
# plant NAME FILE LINE PATTERN: insert LINE at the top of FILE; the checker must fail with PATTERN
plant() {
  name=$1; file=$2; line=$3; pat=$4; d="$WORK/$name"
  fresh "$d"
  sed -i "1i $line" "$d/$file" || hard "cannot plant in $file"
  FS_SRCDIR="$d" sh "$d/scripts/check-layers.sh" > "$d.txt" 2>&1
  st=$?
  [ $st -eq 1 ] || { cat "$d.txt"; fail "$name: exit $st, expected 1"; }
  grep -q -- "$pat" "$d.txt" || { cat "$d.txt"; fail "$name: no '$pat'"; }
  n=$((n + 1))
}
plant public_back_edge src/crypto/fs_dh.c '#include "fedsilo/fs_fl.h"' \
  'layer violation: .*fs_dh.c (crypto) includes fedsilo/fs_fl.h (fl)'
plant bare_impl_header src/data/fs_split.c '#include "fs_fed_impl.h"' \
  'layer violation: .*fs_split.c (data) includes fs_fed_impl.h (fed)'
plant program_to_program src/stats/fs_ridge.c '#include "fl/fs_fl_impl.h"' \
  'program includes another program: .*fs_ridge.c (stats) includes fl/fs_fl_impl.h (fl)'
plant public_to_public include/fedsilo/fs_crypto.h '#include "fs_secagg.h"' \
  'fs_crypto.h (crypto) includes fs_secagg.h (secagg)'
plant umbrella_in_library src/train/fs_sgd.c '#include <fedsilo.h>' \
  'fs_sgd.c (train) includes fedsilo.h (cli)'
plant printf_in_library src/secsum/fs_fixed.c 'static void f(void) { printf("x"); }' \
  'forbidden call in library: .*fs_fixed.c'
plant unmapped_header src/core/fs_core.c '#include "fedsilo/fs_nosuch.h"' \
  'unmapped public header: .*fs_core.c includes fedsilo/fs_nosuch.h'
note "PASS (clean tree passes; $n planted violations each reported)"
