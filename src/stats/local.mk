# stats: federated analytics, `fedsilo stats` and `fedsilo ridge`
# (docs/analytics.md), on the federation core.
libfedsilo_internal_la_SOURCES += src/stats/fs_stats.c src/stats/fs_ridge.c \
                                  src/stats/fs_stats_shared.c src/stats/fs_stats_run.c
noinst_HEADERS += src/stats/fs_stats_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_stats.h
