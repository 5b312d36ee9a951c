# crypto: init + GMP hooks, CSPRNG, SHA-256/HKDF, DH groups, Ed25519
# identities, consortium roster (no MPI); `fedsilo keygen`; unit tests.
libfedsilo_internal_la_SOURCES += src/crypto/fs_crypto.c src/crypto/fs_dh.c \
                                  src/crypto/fs_identity.c src/crypto/fs_roster.c
noinst_HEADERS += src/crypto/fs_crypto_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_crypto.h
dist_doc_DATA += docs/keys.md
# libsodium: ristretto255 hash-and-multiply over threads and keyed BLAKE2b,
# for the private set intersection.
libfedsilo_internal_la_SOURCES += src/crypto/fs_ristretto.c

check_PROGRAMS += tests/unit/check_crypto
TESTS += tests/unit/check_crypto
tests_unit_check_crypto_SOURCES = tests/unit/check_crypto.c
tests_unit_check_crypto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_crypto_LDADD = $(UNIT_LIBS)

# `fedsilo keygen` (CLI layer; uses only the public API).
fedsilo_SOURCES += src/cli/cmd_keygen.c
