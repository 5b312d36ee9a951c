#!/bin/sh
# check-layers.sh - includes point down the layer stack of docs/design.md:
#
#   core < crypto < data < privacy < train < secsum < secagg < fed
#        < prep (the preprocessing pipeline, shared by the programs)
#        < programs (fl, stats, vfl, gbdt) < cli
#
# Every include form is mapped to the layer of the code that declares it:
#   "fedsilo/fs_x.h", <fedsilo/fs_x.h>, "fs_x.h" inside include/fedsilo:
#       the public header's layer, from the table below (a public header
#       that is not in the table is an error: add it);
#   <fedsilo.h>: the umbrella, for the CLI (and programs outside src/) only;
#   "dir/file.h": the folder src/dir;
#   "file.h": the includer's own folder if it has file.h, else the one
#       folder of src/*/ that has it (the -I of src/core), else an error.
# A file of layer L may include only layers below L, its own folder, and
# (programs) no other program.  Library code never calls exit, abort,
# MPI_Init/MPI_Abort/MPI_Finalize, printf, assert or rand; the CLI includes
# only public headers.  Checks src/*/*.[ch] and include/fedsilo/*.h.
# Exit 0 if clean, 1 with one line per violation.
set -u
top=${FS_SRCDIR:-$(dirname "$0")/..}
src=$top/src
inc=$top/include/fedsilo

rank() {   # rank LAYER: position in the stack (programs share one rank)
  case "$1" in
    core) echo 0 ;; crypto) echo 1 ;; data) echo 2 ;; privacy) echo 3 ;; train) echo 4 ;;
    secsum) echo 5 ;; secagg) echo 6 ;; fed) echo 7 ;; prep) echo 8 ;;
    fl|stats|vfl|gbdt) echo 9 ;; cli) echo 10 ;; *) echo -1 ;;
  esac
}

public_layer() {   # public_layer NAME (fs_x.h): the folder that implements it
  case "$1" in
    fs_export.h|fs_error.h|fs_core.h|fs_agree.h|fs_file.h|fs_version.h) echo core ;;
    fs_crypto.h|fs_prg.h|fs_paillier.h) echo crypto ;;
    fs_data.h|fs_schema.h|fs_csv.h) echo data ;;
    fs_dp.h) echo privacy ;;
    fs_model.h|fs_dpsgd.h|fs_metrics.h) echo train ;;
    fs_fixed.h|fs_secsum.h) echo secsum ;;
    fs_secagg.h) echo secagg ;;
    fs_config.h|fs_opts.h|fs_fed.h|fs_ledger.h|fs_ckpt.h) echo fed ;;
    fs_fl.h) echo fl ;;
    fs_stats.h) echo stats ;;
    fs_psi.h|fs_vfl.h) echo vfl ;;
    fs_gbdt.h|fs_gbdt_fed.h) echo gbdt ;;
    fs_prep.h) echo prep ;;
    *) echo "" ;;
  esac
}

bad=0
report() { echo "$1"; bad=1; }

# check FILE LAYER: every include of FILE, mapped to a layer.
check() {
  f=$1; layer=$2; lr=$(rank "$layer"); dir=$(dirname "$f")
  incs=$(sed -n 's/^[ \t]*#[ \t]*include[ \t]*\([<"][^>"]*[>"]\).*/\1/p' "$f")
  for i in $incs; do
    name=${i#?}; name=${name%?}
    case "$i" in
      '<fedsilo.h>'|'"fedsilo.h"') il=cli ;;
      '<fedsilo/'*|'"fedsilo/'*)
        il=$(public_layer "${name#fedsilo/}")
        [ -n "$il" ] || { report "unmapped public header: $f includes $name (add it to check-layers.sh)"; continue; } ;;
      '<'*) continue ;;   # system and dependency headers
      *)
        case "$name" in
          */*) il=${name%%/*}
               [ -f "$src/$name" ] || { report "unresolved include: $f includes \"$name\""; continue; } ;;
          *)
            if [ "$layer" = public ] || [ "$dir" = "$inc" ]; then
              il=$(public_layer "$name")
              [ -n "$il" ] || { report "unmapped public header: $f includes $name"; continue; }
            elif [ -f "$dir/$name" ]; then
              il=$layer
            else
              hits=$(ls "$src"/*/"$name" 2>/dev/null)
              n=$(echo "$hits" | grep -c .)
              if [ "$n" -ne 1 ]; then report "unresolved include: $f includes \"$name\""; continue; fi
              il=$(basename "$(dirname "$hits")")
            fi ;;
        esac ;;
    esac
    ir=$(rank "$il")
    if [ "$ir" -lt 0 ]; then report "unknown layer '$il': $f includes $name"; continue; fi
    if [ "$il" != "$layer" ] && [ "$ir" -ge "$lr" ]; then
      if [ "$ir" -eq "$lr" ]; then report "program includes another program: $f ($layer) includes $name ($il)"
      else report "layer violation: $f ($layer) includes $name ($il)"; fi
    fi
  done
}

for f in "$inc"/*.h; do
  [ -f "$f" ] || continue
  l=$(public_layer "$(basename "$f")")
  case "$(basename "$f")" in fs_version.h) continue ;; esac
  [ -n "$l" ] || { report "unmapped public header: $f (add it to check-layers.sh)"; continue; }
  check "$f" "$l"
done

for f in "$src"/*/*.c "$src"/*/*.h; do
  [ -f "$f" ] || continue
  layer=$(basename "$(dirname "$f")")
  [ "$(rank "$layer")" -ge 0 ] || { report "folder src/$layer is not a layer of docs/design.md: $f"; continue; }
  check "$f" "$layer"
  if [ "$layer" != cli ]; then
    pat='\b(exit|abort|MPI_Init|MPI_Init_thread|MPI_Abort|MPI_Finalize)\s*\(|\bprintf\s*\(|\b(rand|srand)\s*\(|\bassert\s*\('
    if grep -nE "$pat" "$f" | grep -v '^[0-9]*:\s*/\?\*' >/dev/null; then
      grep -nE "$pat" "$f" | grep -v '^[0-9]*:\s*/\?\*' | sed "s|^|forbidden call in library: $f:|"
      bad=1
    fi
  elif grep -E '^#include "[a-z]+/|_impl\.h"' "$f" | grep -v '^#include "fedsilo/' >/dev/null; then
    report "CLI uses a private header: $f"
  fi
done
[ $bad -eq 0 ] && echo "check-layers: clean"
exit $bad
