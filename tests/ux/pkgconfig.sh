#!/bin/sh
# An external program finds fedsilo with pkg-config (PKG_CONFIG_PATH at the
# installed prefix), compiles, links (shared, and statically against
# libfedsilo.a with --static) and runs: version string and a fixed-point
# encode/decode round trip through the public API.
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/ux/ux.sh"
command -v pkg-config >/dev/null 2>&1 || hard "pkg-config missing"
ux_install
pkg-config --exists --print-errors fedsilo || fail "pkg-config does not find fedsilo"
version=$("$FEDSILO" --version | cut -d' ' -f2)
[ "$(pkg-config --modversion fedsilo)" = "$version" ] || fail "pkg-config --modversion != $version"
cat > "$WORK/roundtrip.c" <<'C'
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <fedsilo.h>

int main(void)
{
    const float x[] = { -3.99f, -1.0f, 0.0f, 0.5f, 1.2345f, 3.99f, 5.0f, -7.5f };
    enum { N = sizeof x / sizeof x[0] };
    fs_fixed_params p = { 32, 16, 4.0, FS_FIXED_ROUND_NEAREST };
    fs_fixed_stats st = { 0, 0 };
    unsigned words[N];
    float y[N];
    if (strcmp(fs_version_string(), FS_VERSION_STRING) != 0) {
        printf("version mismatch: library %s, header %s\n", fs_version_string(), FS_VERSION_STRING);
        return 1;
    }
    if (fs_fixed_encode_f32(&p, x, N, words, 0, &st) != FS_OK ||
        fs_fixed_decode_f32(&p, words, N, y) != FS_OK) {
        printf("codec failed: %s\n", fs_errmsg());
        return 1;
    }
    for (int i = 0; i < N; i++) {
        double want = x[i] > 4 ? 4 : x[i] < -4 ? -4 : x[i];
        if (fabs(y[i] - want) > ldexp(1, -17)) {
            printf("x=%g decoded %g, expected %g\n", x[i], y[i], want);
            return 1;
        }
    }
    if (st.nclipped != 2) { printf("nclipped %zu, expected 2\n", st.nclipped); return 1; }
    /* 2^15 parties of 4 * 2^16 overflow Z_2^32: the headroom rule refuses. */
    if (fs_fixed_check_headroom(&p, 1 << 15, 1) != FS_ERR_ARG) { printf("headroom\n"); return 1; }
    printf("roundtrip OK with libfedsilo %s (%d values, %zu clipped, f = %d)\n",
           fs_version_string(), N, st.nclipped, p.frac_bits);
    return 0;
}
C
cflags=$(pkg-config --cflags fedsilo) && libs=$(pkg-config --libs fedsilo) || fail "pkg-config --cflags --libs"
note "pkg-config --cflags --libs fedsilo: $cflags $libs"
cc -std=c11 -Wall -Werror $cflags -o "$WORK/roundtrip" "$WORK/roundtrip.c" $libs -lm \
  || fail "the external program does not build with pkg-config's flags"
"$WORK/roundtrip" || fail "the external program failed"
# static libfedsilo: --static adds Requires.private/Libs.private (HDF5, OpenBLAS, GMP, ...)
if [ -e "$UX_LIBDIR/libfedsilo.a" ]; then
  slibs=$(pkg-config --static --libs fedsilo | sed 's/-lfedsilo\b//')
  cc -std=c11 $cflags -o "$WORK/roundtrip_static" "$WORK/roundtrip.c" "$UX_LIBDIR/libfedsilo.a" \
     $slibs -lm > "$WORK/static.txt" 2>&1 \
    || { cat "$WORK/static.txt"; fail "static link with pkg-config --static --libs fedsilo failed"; }
  ! ldd "$WORK/roundtrip_static" | grep -q libfedsilo || fail "static build still loads libfedsilo.so"
  "$WORK/roundtrip_static" || fail "the statically linked program failed"
fi
note PASS
