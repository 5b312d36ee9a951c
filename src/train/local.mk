# train: models, losses, local SGD and DP-SGD on OpenBLAS, evaluation-metric
# sums (no MPI).
libfedsilo_internal_la_SOURCES += src/train/fs_model.c src/train/fs_sgd.c src/train/fs_dpsgd.c \
                                  src/train/fs_metrics.c
noinst_HEADERS += src/train/fs_train_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_model.h include/fedsilo/fs_dpsgd.h \
                          include/fedsilo/fs_metrics.h
