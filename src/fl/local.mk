# fl: the FedAvg program (round loop, server optimizers).
libfedsilo_internal_la_SOURCES += src/fl/fs_train.c src/fl/fs_fl_setup.c src/fl/fs_fl_eval.c \
                                  src/fl/fs_fl_ckpt.c src/fl/fs_server_opt.c
noinst_HEADERS += src/fl/fs_fl_impl.h src/fl/fs_server_opt.h
fedsiloinclude_HEADERS += include/fedsilo/fs_fl.h
