#!/bin/sh
# `make install DESTDIR=...`: the installed program runs and reports the
# build's version, the man page renders, the documentation, headers (in
# PREFIX/include/fedsilo/, complete and compilable), libfedsilo (exporting
# only fs_* symbols) and fedsilo.pc are where users and packagers expect.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/ux/ux.sh"
ux_install
P=$UX_PREFIX

# the program, with the staged library (LD_LIBRARY_PATH set by ux_install)
want=$("$FEDSILO" --version) || fail "build-tree fedsilo --version failed"
got=$("$P/bin/fedsilo" --version) || fail "installed fedsilo --version failed"
[ "$got" = "$want" ] || fail "installed '$got', build tree '$want'"
ldd "$P/bin/fedsilo" | grep -q "libfedsilo.so.0 => $UX_LIBDIR/" \
  || { ldd "$P/bin/fedsilo"; fail "installed fedsilo does not load the installed libfedsilo"; }
"$P/bin/fedsilo" --help | grep -q '^  train ' || fail "installed fedsilo --help lists no train"
"$P/bin/fedsilo" keygen --name site-a --out "$WORK/k" > "$WORK/keygen.txt" 2>&1 \
  || { cat "$WORK/keygen.txt"; fail "installed fedsilo keygen failed"; }
note "$got runs from $P/bin"

# the man page
MANPAGE="$P/share/man/man1/fedsilo.1"
[ -r "$MANPAGE" ] || fail "no share/man/man1/fedsilo.1"
if command -v man >/dev/null 2>&1; then
  MANWIDTH=80 man -l "$MANPAGE" > "$WORK/man.txt" 2> "$WORK/man.err" || fail "man -l failed"
  how="man -l"
elif command -v groff >/dev/null 2>&1; then
  groff -man -Tutf8 "$MANPAGE" > "$WORK/man.txt" 2> "$WORK/man.err" || fail "groff failed"
  how="groff -man"
else
  [ "${CI:-}" = true ] && hard "neither man nor groff in CI"
  echo "skip: neither man nor groff"; exit 77
fi
sed 's/.\x08//g' "$WORK/man.txt" > "$WORK/man.plain"
for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS"; do
  grep -q "^$s" "$WORK/man.plain" || fail "$how: the man page has no $s section"
done
grep -q 'fedsilo train' "$WORK/man.plain" || fail "$how: the man page does not describe train"
note "man page renders with $how ($(wc -l < "$WORK/man.plain") lines)"

# headers: fedsilo.h and every header it includes, under include/fedsilo/
[ -r "$UX_INCDIR/fedsilo.h" ] || fail "no fedsilo.h"
for h in $(sed -n 's/^#include "\(fedsilo\/[a-z_]*\.h\)"/\1/p' "$UX_INCDIR/fedsilo.h"); do
  [ -r "$UX_INCDIR/$h" ] || fail "fedsilo.h includes $h, which is not installed in $UX_INCDIR"
done
[ -z "$(find "$UX_INCDIR" -path '*/include/include/*')" ] \
  || fail "headers installed under include/include/: $(find "$UX_INCDIR" -path '*/include/include/*' | head -3)"
grep -q "FS_VERSION_STRING \"$(echo "$want" | cut -d' ' -f2)\"" "$UX_INCDIR/fedsilo/fs_version.h" \
  || fail "installed fs_version.h does not match the version"
printf '#include <fedsilo.h>\nint main(void) { return fs_version_string()[0] == 0; }\n' > "$WORK/inc.c"
mpi_cflags=$(pkg-config --cflags ompi-c 2>/dev/null || pkg-config --cflags mpich) || hard "no MPI .pc"
cc -std=c11 -Wall -Werror -fsyntax-only -I"$UX_INCDIR" $mpi_cflags "$WORK/inc.c" \
  || fail "<fedsilo.h> does not compile from the installed include directory alone (+ MPI)"

# the library: shared and static, only the public fs_* API exported
[ -e "$UX_LIBDIR/libfedsilo.so.0" ] || fail "no libfedsilo.so.0"
[ -e "$UX_LIBDIR/libfedsilo.a" ] || note "no static libfedsilo.a (--disable-static?)"
nm -D --defined-only "$UX_LIBDIR/libfedsilo.so.0" | awk '$2 ~ /^[TDBR]$/ { print $3 }' \
  > "$WORK/syms.txt"
grep -q '^fs_secagg_sum_f32$' "$WORK/syms.txt" || fail "fs_secagg_sum_f32 not exported"
bad=$(grep -v '^fs_' "$WORK/syms.txt" | grep -v '^_' | head -5)
[ -z "$bad" ] || fail "libfedsilo exports non-API symbols: $bad"
note "libfedsilo exports $(wc -l < "$WORK/syms.txt") symbols, all fs_*"

# pkg-config metadata and documentation
grep -q "^Version: $(echo "$want" | cut -d' ' -f2)\$" "$UX_PC" || fail "fedsilo.pc has the wrong version"
grep -q '^Libs:.*-lfedsilo' "$UX_PC" || fail "fedsilo.pc does not link -lfedsilo"
for d in user-guide.md config.md faq.md; do
  find "$P/share/doc" -name "$d" | grep -q . || fail "documentation $d not installed under share/doc"
done
# packaging/debian-build-deps.txt lists exactly the build set of scripts/install-deps.sh
sed -n '/^BUILD_PKGS=(/,/)/p' "$FS_SRCDIR/scripts/install-deps.sh" | tr -d '()' \
  | sed 's/^BUILD_PKGS=//' | tr ' ' '\n' | grep . > "$WORK/deps.sh.txt"
grep -v '^#' "$FS_SRCDIR/packaging/debian-build-deps.txt" | grep . > "$WORK/deps.txt"
diff "$WORK/deps.sh.txt" "$WORK/deps.txt" \
  || fail "packaging/debian-build-deps.txt differs from BUILD_PKGS in scripts/install-deps.sh"
note PASS
