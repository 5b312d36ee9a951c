# gbdt: gradient-boosted trees from sums only (XGBoost `hist`), the HDF5
# model group and the XGBoost JSON export (docs/gbdt.md), no MPI; and the
# federated program over the federation core (fs_gbdt_run.c, MPI) with its
# checkpoints (fs_gbdt_ckpt.c).
libfedsilo_internal_la_SOURCES += src/gbdt/fs_gbdt_train.c src/gbdt/fs_gbdt_grow.c \
                                  src/gbdt/fs_gbdt_bins.c \
                                  src/gbdt/fs_gbdt_model.c src/gbdt/fs_gbdt_export.c \
                                  src/gbdt/fs_gbdt_run.c src/gbdt/fs_gbdt_ckpt.c
fedsiloinclude_HEADERS += include/fedsilo/fs_gbdt.h include/fedsilo/fs_gbdt_fed.h
noinst_HEADERS += src/gbdt/fs_gbdt_impl.h src/gbdt/fs_gbdt_state.h
dist_doc_DATA += docs/gbdt.md
