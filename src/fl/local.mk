# fl: configuration, aggregation interface, round loop, checkpoints.
libfedsilo_internal_la_SOURCES += src/fl/fs_config.c src/fl/fs_aggregate.c src/fl/fs_ckpt.c \
                                  src/fl/fs_train.c
noinst_HEADERS += src/fl/fs_fl_impl.h
nobase_include_HEADERS += include/fedsilo/fs_config.h include/fedsilo/fs_fl.h
