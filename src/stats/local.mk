# stats: federated analytics, `fedsilo stats` and `fedsilo ridge`
# (docs/analytics.md).
libfedsilo_internal_la_SOURCES += src/stats/fs_stats.c
fedsiloinclude_HEADERS += include/fedsilo/fs_stats.h
