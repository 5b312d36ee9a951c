# prep: the fitted preprocessing pipeline (imputation, standardization) of
# the programs, fit by secure sums on the federation core (fs_prep.h).
libfedsilo_internal_la_SOURCES += src/prep/fs_prep.c src/prep/fs_predict.c
fedsiloinclude_HEADERS += include/fedsilo/fs_prep.h
