# vfl: vertical federated learning - Paillier encryption, private set
# intersection, vertical logistic/linear regression - and its CLI commands
# (vfl-split, vfl-train, psi; dispatched from src/cli/fedsilo.c).
libfedsilo_internal_la_SOURCES += src/vfl/fs_paillier.c src/vfl/fs_vfl_mpi.c src/vfl/fs_psi.c \
                                  src/vfl/fs_vfl.c
fedsiloinclude_HEADERS += include/fedsilo/fs_paillier.h include/fedsilo/fs_psi.h \
                          include/fedsilo/fs_vfl.h
noinst_HEADERS += src/vfl/fs_vfl_impl.h
fedsilo_SOURCES += src/cli/cmd_vfl.c src/cli/cmd_vfl.h
dist_doc_DATA += docs/vertical.md

# Unit test (no MPI): Paillier.
check_PROGRAMS += tests/unit/check_paillier
tests_unit_check_paillier_SOURCES = tests/unit/check_paillier.c
tests_unit_check_paillier_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_paillier_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/check_paillier

# MPI tests: PSI (library), PSI and vertical training (CLI), the CSV-to-model
# pipeline (import --id-column, psi --data, roster role = label) and CLI errors.
check_PROGRAMS += tests/vfl/t_psi
tests_vfl_t_psi_SOURCES = tests/vfl/t_psi.c
tests_vfl_t_psi_LDADD = libfedsilo.la $(MPI_LIBS)
dist_check_SCRIPTS += tests/vfl/psi.sh tests/vfl/psi_cli.sh tests/vfl/train.sh \
                      tests/vfl/pipeline.sh tests/vfl/cli_errors.sh
TESTS += tests/vfl/psi.sh tests/vfl/psi_cli.sh tests/vfl/train.sh tests/vfl/pipeline.sh \
         tests/vfl/cli_errors.sh

# Benchmark (never part of make check): ./bench/paillier_bench [BITS [N]].
noinst_PROGRAMS += bench/paillier_bench
bench_paillier_bench_SOURCES = bench/paillier_bench.c
bench_paillier_bench_LDADD = libfedsilo.la $(GMP_LIBS)

# Attack tests of vertical training (the 2026-12 review's E3 and E8, the
# partial-score spy, tampered/replayed/swapped messages): a driver with the
# TEST-ONLY switches, a PMPI transport attacker and a gradient observer
# (LD_PRELOAD; no FS_SANFLAGS in preloaded libraries).
check_PROGRAMS += tests/vfl/t_vfl
tests_vfl_t_vfl_SOURCES = tests/vfl/t_vfl.c
tests_vfl_t_vfl_LDADD = libfedsilo.la $(MPI_LIBS)
check_LTLIBRARIES += tests/vfl/libvflmitm.la tests/vfl/libgradspy.la
tests_vfl_libvflmitm_la_SOURCES = tests/vfl/mitm.c
tests_vfl_libvflmitm_la_CFLAGS = -std=gnu11 $(FS_CWFLAGS) $(MPI_CFLAGS) -Wno-missing-prototypes
tests_vfl_libvflmitm_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_vfl_libvflmitm_la_LIBADD = libfedsilo.la $(MPI_LIBS)
tests_vfl_libgradspy_la_SOURCES = tests/vfl/gradspy.c
tests_vfl_libgradspy_la_CFLAGS = -std=gnu11 $(FS_CWFLAGS) -Wno-missing-prototypes
tests_vfl_libgradspy_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_vfl_libgradspy_la_LIBADD = -ldl
dist_check_SCRIPTS += tests/vfl/attack.sh tests/vfl/tail.sh tests/vfl/scores.sh
EXTRA_DIST += tests/vfl/bc.py
TESTS += tests/vfl/attack.sh tests/vfl/tail.sh tests/vfl/scores.sh

# Unit test (no MPI_Init): score encoding headroom and the batch plan.
check_PROGRAMS += tests/unit/check_vfl
tests_unit_check_vfl_SOURCES = tests/unit/check_vfl.c
tests_unit_check_vfl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_vfl_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/check_vfl
