# crypto: init + GMP hooks, CSPRNG, SHA-256/HKDF, AES-256-GCM, DH groups,
# Ed25519 identities, consortium roster, the AES-128-CTR mask PRG,
# Paillier, and ristretto255 with keyed BLAKE2b over libsodium for the
# private set intersection (no MPI).
libfedsilo_internal_la_SOURCES += src/crypto/fs_crypto.c src/crypto/fs_dh.c \
                                  src/crypto/fs_identity.c src/crypto/fs_roster.c \
                                  src/crypto/fs_prg.c src/crypto/fs_aesctr.c \
                                  src/crypto/fs_paillier.c src/crypto/fs_aead.c \
                                  src/crypto/fs_ristretto.c
noinst_HEADERS += src/crypto/fs_crypto_impl.h src/crypto/fs_prg_impl.h src/crypto/fs_aesctr_tmpl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_crypto.h include/fedsilo/fs_prg.h \
                          include/fedsilo/fs_paillier.h
