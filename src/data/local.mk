# data: HDF5 dataset files, the CSV reader, IDX/CSV importers, the consortium
# schema (import, check, draft), non-IID splitters (no MPI).
libfedsilo_internal_la_SOURCES += src/data/fs_dataset.c src/data/fs_import.c src/data/fs_split.c \
                                  src/data/fs_h5.c src/data/fs_csv.c src/data/fs_schema.c \
                                  src/data/fs_schema_import.c src/data/fs_schema_draft.c
noinst_HEADERS += src/data/fs_h5_impl.h src/data/fs_data_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_data.h include/fedsilo/fs_schema.h
fedsilo_SOURCES += src/cli/cmd_data.c
dist_doc_DATA += docs/formats.md docs/tables.md

check_PROGRAMS += tests/unit/check_data
TESTS += tests/unit/check_data
tests_unit_check_data_SOURCES = tests/unit/check_data.c tests/unit/unit_tmpdir.h
tests_unit_check_data_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_data_LDADD = $(UNIT_LIBS)
fedsilo_SOURCES += src/cli/cmd_schema.c src/cli/cmd_schema.h

check_PROGRAMS += tests/unit/check_schema
TESTS += tests/unit/check_schema
tests_unit_check_schema_SOURCES = tests/unit/check_schema.c tests/unit/unit_tmpdir.h
tests_unit_check_schema_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/data
tests_unit_check_schema_LDADD = $(UNIT_LIBS)

# Raw CSV tables (R's credit_data and PimaIndiansDiabetes2) through draft,
# check and import, against a numpy encoding.
dist_check_SCRIPTS += tests/data/schema_import.sh
TESTS += tests/data/schema_import.sh
