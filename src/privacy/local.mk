# privacy: RDP accountant, CSPRNG noise stream, Gaussian/Laplace mechanisms,
# exact discrete Gaussian/Laplace samplers, randomized Walsh-Hadamard
# rotation (no MPI); DP-SGD local training (src/train/fs_dpsgd.c);
# `fedsilo dp` (CLI layer); unit tests; docs/privacy.md.
libfedsilo_internal_la_SOURCES += src/privacy/fs_rdp.c src/privacy/fs_mech.c \
                                  src/privacy/fs_dgauss.c src/privacy/fs_rotation.c \
                                  src/train/fs_dpsgd.c
fedsiloinclude_HEADERS += include/fedsilo/fs_dp.h
dist_doc_DATA += docs/privacy.md

check_PROGRAMS += tests/unit/check_dp
TESTS += tests/unit/check_dp
tests_unit_check_dp_SOURCES = tests/unit/check_dp.c
tests_unit_check_dp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_dp_LDADD = $(UNIT_LIBS)

# `fedsilo dp` (CLI layer; uses only the public API).
fedsilo_SOURCES += src/cli/cmd_dp.c src/cli/cmd_dp.h
