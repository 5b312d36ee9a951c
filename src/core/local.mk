# core: errors, logging, memory, RNG streams, collective error agreement,
# durable file publishing and path helpers, the INI reader of the roster and
# the schema.
libfedsilo_internal_la_SOURCES += src/core/fs_core.c src/core/fs_agree.c src/core/fs_file.c \
                                  src/core/fs_json.c src/core/fs_ini.c
noinst_HEADERS += src/core/fs_impl.h src/core/fs_mpi_impl.h src/core/fs_json_impl.h \
                  src/core/fs_ini_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_export.h include/fedsilo/fs_error.h \
                          include/fedsilo/fs_core.h include/fedsilo/fs_agree.h \
                          include/fedsilo/fs_file.h
