# fl: configuration, aggregation interface, round loop, checkpoints.
libfedsilo_internal_la_SOURCES += src/fl/fs_config.c src/fl/fs_aggregate.c src/fl/fs_ckpt.c \
                                  src/fl/fs_train.c src/fl/fs_server_opt.c src/fl/fs_metrics.c \
                                  src/fl/fs_ddp.c
noinst_HEADERS += src/fl/fs_fl_impl.h src/fl/fs_server_opt.h src/fl/fs_ddp.h

check_PROGRAMS += tests/unit/check_server_opt
tests_unit_check_server_opt_SOURCES = tests/unit/check_server_opt.c
tests_unit_check_server_opt_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/fl
tests_unit_check_server_opt_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/check_server_opt
fedsiloinclude_HEADERS += include/fedsilo/fs_config.h include/fedsilo/fs_fl.h
check_PROGRAMS += tests/unit/check_metrics
tests_unit_check_metrics_SOURCES = tests/unit/check_metrics.c
tests_unit_check_metrics_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/fl
tests_unit_check_metrics_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/check_metrics
check_PROGRAMS += tests/unit/check_ddp
tests_unit_check_ddp_SOURCES = tests/unit/check_ddp.c
tests_unit_check_ddp_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/fl
tests_unit_check_ddp_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/check_ddp
