# gbdt: gradient-boosted trees from sums only (XGBoost `hist`), the HDF5
# model group and the XGBoost JSON export (docs/gbdt.md).  No MPI.
libfedsilo_internal_la_SOURCES += src/gbdt/fs_gbdt_train.c src/gbdt/fs_gbdt_bins.c \
                                  src/gbdt/fs_gbdt_model.c src/gbdt/fs_gbdt_export.c
fedsiloinclude_HEADERS += include/fedsilo/fs_gbdt.h
noinst_HEADERS += src/gbdt/fs_gbdt_impl.h
dist_doc_DATA += docs/gbdt.md

# Unit test (no MPI): federated == pooled bit for bit, subtraction trick,
# missing values, edge cases, known answers from xgboost.
check_PROGRAMS += tests/unit/check_gbdt
tests_unit_check_gbdt_SOURCES = tests/unit/check_gbdt.c
tests_unit_check_gbdt_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/gbdt
tests_unit_check_gbdt_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/check_gbdt

# Export to XGBoost JSON (loaded by python3-xgboost, same predictions) and
# test quality against xgboost on real tables; both drive bench/gbdt_bench.
dist_check_SCRIPTS += tests/gbdt/export.sh tests/gbdt/quality.sh
TESTS += tests/gbdt/export.sh tests/gbdt/quality.sh
EXTRA_DIST += tests/gbdt/gbdt_data.py tests/gbdt/export.py tests/gbdt/quality.py
