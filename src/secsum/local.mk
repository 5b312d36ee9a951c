# secsum: the secure-sum engine (no MPI): fixed-point codec, AES-128-CTR
# mask PRG (src/crypto/fs_prg.c, owned here), mask graph, pairwise masker,
# and the engine-side bench helpers.
libfedsilo_internal_la_SOURCES += src/crypto/fs_prg.c src/crypto/fs_aesctr.c src/secsum/fs_fixed.c \
                                  src/secsum/fs_maskgraph.c src/secsum/fs_masker.c \
                                  src/secsum/fs_secsum_bench.c
noinst_HEADERS += src/crypto/fs_prg.h src/crypto/fs_aesctr_tmpl.h src/secsum/fs_fixed_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_fixed.h include/fedsilo/fs_secsum.h

check_PROGRAMS += tests/unit/check_fixed tests/unit/check_secsum
TESTS += tests/unit/check_fixed tests/unit/check_secsum
tests_unit_check_fixed_SOURCES = tests/unit/check_fixed.c
tests_unit_check_fixed_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_fixed_LDADD = $(UNIT_LIBS)
tests_unit_check_secsum_SOURCES = tests/unit/check_secsum.c
tests_unit_check_secsum_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_secsum_LDADD = $(UNIT_LIBS)
