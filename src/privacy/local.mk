# privacy: RDP accountant, CSPRNG noise stream, Gaussian/Laplace mechanisms,
# exact discrete Gaussian/Laplace samplers, randomized Walsh-Hadamard
# rotation (no MPI).
libfedsilo_internal_la_SOURCES += src/privacy/fs_rdp.c src/privacy/fs_mech.c \
                                  src/privacy/fs_dgauss.c src/privacy/fs_rotation.c
fedsiloinclude_HEADERS += include/fedsilo/fs_dp.h
