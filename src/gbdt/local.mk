# gbdt: gradient-boosted trees from sums only (XGBoost `hist`), the HDF5
# model group and the XGBoost JSON export (docs/gbdt.md).  No MPI.
libfedsilo_internal_la_SOURCES += src/gbdt/fs_gbdt_train.c src/gbdt/fs_gbdt_grow.c \
                                  src/gbdt/fs_gbdt_bins.c \
                                  src/gbdt/fs_gbdt_model.c src/gbdt/fs_gbdt_export.c
fedsiloinclude_HEADERS += include/fedsilo/fs_gbdt.h
noinst_HEADERS += src/gbdt/fs_gbdt_impl.h src/gbdt/fs_gbdt_state.h
dist_doc_DATA += docs/gbdt.md
