# vfl: vertical federated learning - Paillier encryption, private set
# intersection, vertical logistic/linear regression - and its CLI commands
# (vfl-split, vfl-train, psi; dispatched from src/cli/fedsilo.c).
libfedsilo_internal_la_SOURCES += src/vfl/fs_paillier.c src/vfl/fs_vfl_mpi.c src/vfl/fs_psi.c \
                                  src/vfl/fs_psi_match.c src/vfl/fs_vfl.c
fedsiloinclude_HEADERS += include/fedsilo/fs_paillier.h include/fedsilo/fs_psi.h \
                          include/fedsilo/fs_vfl.h
noinst_HEADERS += src/vfl/fs_vfl_impl.h src/vfl/fs_psi_impl.h
fedsilo_SOURCES += src/cli/cmd_vfl.c src/cli/cmd_vfl.h
dist_doc_DATA += docs/vertical.md

# Unit tests (no MPI): Paillier; the PSI membership test with N simulated holders.
check_PROGRAMS += tests/unit/check_paillier tests/unit/check_psi
tests_unit_check_paillier_SOURCES = tests/unit/check_paillier.c
tests_unit_check_paillier_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_paillier_LDADD = $(UNIT_LIBS)
tests_unit_check_psi_SOURCES = tests/unit/check_psi.c
tests_unit_check_psi_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_psi_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/check_paillier tests/unit/check_psi

# MPI tests: PSI (library), PSI and vertical training (CLI), the CSV-to-model
# pipeline (import --id-column, psi --data, roster role = label) and CLI errors.
check_PROGRAMS += tests/vfl/t_psi
tests_vfl_t_psi_SOURCES = tests/vfl/t_psi.c
tests_vfl_t_psi_LDADD = libfedsilo.la $(MPI_LIBS)
dist_check_SCRIPTS += tests/vfl/psi.sh tests/vfl/psi_cli.sh tests/vfl/train.sh \
                      tests/vfl/pipeline.sh tests/vfl/cli_errors.sh
TESTS += tests/vfl/psi.sh tests/vfl/psi_cli.sh tests/vfl/train.sh tests/vfl/pipeline.sh \
         tests/vfl/cli_errors.sh

# PSI leak and tamper tests: the pairwise-leak fixture (new protocol and the old one
# from bench/psi_ffdhe.c as the positive control) under a PMPI recorder
# that can also alter one message in transit; psi_leak.py is the curious
# rank 0.
check_PROGRAMS += tests/vfl/t_psi_leak
tests_vfl_t_psi_leak_SOURCES = tests/vfl/t_psi_leak.c bench/psi_ffdhe.c bench/psi_ffdhe.h
tests_vfl_t_psi_leak_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
tests_vfl_t_psi_leak_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
tests_vfl_t_psi_leak_LDADD = libfedsilo_internal.la $(DEP_LIBS)
check_LTLIBRARIES += tests/vfl/libpsispy.la
tests_vfl_libpsispy_la_SOURCES = tests/vfl/psi_spy.c
tests_vfl_libpsispy_la_CFLAGS = $(AM_CFLAGS) -Wno-missing-prototypes
tests_vfl_libpsispy_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_vfl_libpsispy_la_LIBADD = $(MPI_LIBS)
EXTRA_DIST += tests/vfl/psi_leak.py
dist_check_SCRIPTS += tests/vfl/psi_leak.sh tests/vfl/psi_tamper.sh
TESTS += tests/vfl/psi_leak.sh tests/vfl/psi_tamper.sh

# Benchmark (never part of make check): ./bench/paillier_bench [BITS [N]].
noinst_PROGRAMS += bench/paillier_bench
bench_paillier_bench_SOURCES = bench/paillier_bench.c
bench_paillier_bench_LDADD = libfedsilo.la
