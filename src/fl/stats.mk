# Federated analytics: `fedsilo stats` and `fedsilo ridge` (docs/analytics.md).
libfedsilo_internal_la_SOURCES += src/fl/fs_stats.c
fedsiloinclude_HEADERS += include/fedsilo/fs_stats.h
fedsilo_SOURCES += src/cli/cmd_stats.c src/cli/cmd_stats.h

TESTS += tests/analytics/stats.sh tests/analytics/ridge.sh tests/analytics/examples.sh \
         tests/analytics/stats_dp.sh
dist_check_SCRIPTS += tests/analytics/stats.sh tests/analytics/ridge.sh tests/analytics/stats_dp.sh \
                      tests/analytics/examples.sh
EXTRA_DIST += scripts/sklearn-csv.py examples/README.md examples/breast-cancer/run.sh \
              examples/diabetes/run.sh examples/fashion-mnist/run.sh docs/analytics.md
