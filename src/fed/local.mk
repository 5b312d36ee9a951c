# fed: the federation core shared by every program: the option table, the
# checkpoint file.
libfedsilo_internal_la_SOURCES += src/fed/fs_config.c src/fed/fs_ckpt.c
noinst_HEADERS += src/fed/fs_fed_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_config.h include/fedsilo/fs_ckpt.h
