# tests/ux: user experience and packaging.  fedsilo plot (PNG checked pixel
# by pixel), the CLI progress helper (plain lines vs terminal bar), and the
# installed tree: make install, pkg-config from an external program, and the
# libfedsilo API example built with its own Makefile under mpirun; docs in
# step with `fedsilo train --help`.
check_PROGRAMS += tests/ux/t_progress
tests_ux_t_progress_SOURCES = tests/ux/t_progress.c src/cli/progress.c src/cli/progress.h
tests_ux_t_progress_LDADD = -lpthread
EXTRA_DIST += tests/ux/ux.sh tests/ux/pngcheck.py \
              examples/api/secure_sum.c examples/api/Makefile examples/api/README.md \
              packaging/spack/package.py packaging/debian-build-deps.txt
dist_check_SCRIPTS += tests/ux/plot.sh tests/ux/progress.sh tests/ux/install.sh tests/ux/layers.sh \
                      tests/ux/pkgconfig.sh tests/ux/api.sh tests/ux/docs.sh tests/ux/train_bar.sh
TESTS += tests/ux/plot.sh tests/ux/progress.sh tests/ux/layers.sh tests/ux/install.sh tests/ux/pkgconfig.sh \
         tests/ux/api.sh tests/ux/docs.sh tests/ux/train_bar.sh
