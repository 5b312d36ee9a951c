# train: models, losses and local SGD on OpenBLAS (no MPI).
libfedsilo_internal_la_SOURCES += src/train/fs_model.c src/train/fs_sgd.c
noinst_HEADERS += src/train/fs_train_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_model.h

check_PROGRAMS += tests/unit/check_model
TESTS += tests/unit/check_model
tests_unit_check_model_SOURCES = tests/unit/check_model.c
tests_unit_check_model_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_model_LDADD = $(UNIT_LIBS)
