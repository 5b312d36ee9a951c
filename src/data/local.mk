# data: HDF5 dataset files, the CSV reader, IDX/CSV importers, the consortium
# schema (import, check, draft), non-IID splitters (no MPI).
libfedsilo_internal_la_SOURCES += src/data/fs_dataset.c src/data/fs_dataset_mem.c \
                                  src/data/fs_import.c src/data/fs_split.c \
                                  src/data/fs_vsplit.c src/data/fs_h5.c src/data/fs_csv.c \
                                  src/data/fs_schema.c src/data/fs_schema_cell.c \
                                  src/data/fs_schema_import.c src/data/fs_schema_draft.c
noinst_HEADERS += src/data/fs_h5_impl.h src/data/fs_data_impl.h src/data/fs_schema_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_data.h include/fedsilo/fs_schema.h

