# tests/ux/ux.sh - helpers of the installation tests (sourced after
# tests/lib.sh).
#
# ux_install: `make install DESTDIR=$WORK/dest` from the build tree, then
# point the compiler, pkg-config and the loader at that staged tree, as a
# user would with a real --prefix:
#   UX_PREFIX   the configured prefix inside DESTDIR (holds bin/, share/)
#   UX_LIBDIR   the staged libdir (libfedsilo.so, pkgconfig/fedsilo.pc)
#   UX_INCDIR   the staged includedir (fedsilo.h, fedsilo/*.h)
#   UX_PC       the installed fedsilo.pc
#   PKG_CONFIG_PATH  a copy of fedsilo.pc whose prefix/libdir/includedir name
#                    the staged directories (what --prefix=UX_PREFIX gives)
#   LD_LIBRARY_PATH  UX_LIBDIR first (libtool adds no rpath for a system
#                    libdir such as /usr/local/lib)
# Concurrent tests install one at a time (flock on the build's Makefile) so
# libtool's relinking never races.
ux_install() {
  dest=$WORK/dest
  command -v flock >/dev/null 2>&1 || hard "flock (util-linux) missing"
  # A sub-make must not inherit the jobserver of the `make check` that runs us.
  ( flock -x 9 && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
      make -C "$FS_BUILDDIR" install DESTDIR="$dest" ) 9<"$FS_BUILDDIR/Makefile" \
      > "$WORK/install.log" 2>&1 \
    || { tail -30 "$WORK/install.log"; fail "make install DESTDIR=$dest failed"; }
  bin=$(find "$dest" -path '*/bin/fedsilo' -type f | head -1)
  [ -n "$bin" ] || fail "make install put no bin/fedsilo under $dest"
  UX_PREFIX=$(dirname "$(dirname "$bin")")
  UX_PC=$(find "$dest" -path '*/pkgconfig/fedsilo.pc' | head -1)
  [ -n "$UX_PC" ] || fail "make install put no pkgconfig/fedsilo.pc under $dest"
  UX_LIBDIR=$(dirname "$(dirname "$UX_PC")")
  hdr=$(find "$dest" -name fedsilo.h -type f | head -1)
  [ -n "$hdr" ] || fail "make install put no fedsilo.h under $dest"
  UX_INCDIR=$(dirname "$hdr")
  mkdir -p "$WORK/pkgconfig"
  sed -e "s|^prefix=.*|prefix=$UX_PREFIX|" -e "s|^libdir=.*|libdir=$UX_LIBDIR|" \
      -e "s|^includedir=.*|includedir=$UX_INCDIR|" "$UX_PC" > "$WORK/pkgconfig/fedsilo.pc"
  PKG_CONFIG_PATH=$WORK/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  LD_LIBRARY_PATH=$UX_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export PKG_CONFIG_PATH LD_LIBRARY_PATH
  note "installed into $dest (prefix $UX_PREFIX)"
}

# ux_python: Debian's python3 (the tests use only its standard library).
if [ -x /usr/bin/python3 ]; then UX_PYTHON=/usr/bin/python3; else UX_PYTHON=python3; fi
