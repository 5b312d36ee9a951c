# vfl: vertical federated learning - private set intersection, vertical
# logistic/linear regression (Paillier is in crypto).
libfedsilo_internal_la_SOURCES += src/vfl/fs_vfl_mpi.c src/vfl/fs_psi.c src/vfl/fs_psi_match.c \
                                  src/vfl/fs_vfl.c src/vfl/fs_vfl_run.c
fedsiloinclude_HEADERS += include/fedsilo/fs_psi.h include/fedsilo/fs_vfl.h
noinst_HEADERS += src/vfl/fs_vfl_impl.h src/vfl/fs_psi_impl.h
