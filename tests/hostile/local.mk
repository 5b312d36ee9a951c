# tests/hostile: the hostile-input corpus (issue 7), the replay attacker
# (LD_PRELOAD PMPI library), and the security tooling that ships in the
# tarball (libFuzzer targets, sanitizer/valgrind script, docs/security.md).
check_LTLIBRARIES += tests/hostile/libfsreplay.la
tests_hostile_libfsreplay_la_SOURCES = tests/hostile/replay.c
# No FS_SANFLAGS: an LD_PRELOADed library must not pull in the ASan runtime.
tests_hostile_libfsreplay_la_CFLAGS = -std=gnu11 $(FS_CWFLAGS) $(MPI_CFLAGS) -Wno-missing-prototypes
tests_hostile_libfsreplay_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_hostile_libfsreplay_la_LIBADD = $(MPI_LIBS)
dist_check_SCRIPTS += tests/hostile/run.sh
TESTS += tests/hostile/run.sh
EXTRA_DIST += tests/hostile/cases.txt tests/hostile/mkfixtures.py tests/hostile/rankwrap.sh \
              tests/fuzz/run.sh tests/fuzz/fuzz_common.h tests/fuzz/fuzz_idx.c tests/fuzz/fuzz_csv.c \
              tests/fuzz/fuzz_config.c tests/fuzz/fuzz_roster.c tests/fuzz/fuzz_hdf5.c \
              tests/fuzz/fuzz_checkpoint.c tests/fuzz/fuzz_schema.c tests/fuzz/mkseeds.sh tests/fuzz/seedgen.c \
              tests/fuzz/lsan.supp tests/fuzz/crashes \
              tests/valgrind.supp scripts/sanitize.sh docs/security.md
