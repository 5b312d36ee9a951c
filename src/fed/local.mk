# fed: the federation core shared by every program: the option table and
# typed options, fs_fed (communicator, shard, pre-flight agreement, sum
# session, run directory and metrics, progress and stop), the privacy
# ledger, the checkpoint file.
libfedsilo_internal_la_SOURCES += src/fed/fs_config.c src/fed/fs_options.c src/fed/fs_fed.c \
                                  src/fed/fs_preflight.c src/fed/fs_rundir.c src/fed/fs_ledger.c \
                                  src/fed/fs_ckpt.c
noinst_HEADERS += src/fed/fs_fed_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_config.h include/fedsilo/fs_opts.h include/fedsilo/fs_fed.h \
                          include/fedsilo/fs_ledger.h include/fedsilo/fs_ckpt.h
