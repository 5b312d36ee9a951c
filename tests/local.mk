# tests: the CLI-level and MPI tests (unit tests: tests/unit/local.mk).  MPI C programs run through tests/run-mpi.sh.
EXTRA_DIST += tests/lib.sh
dist_check_SCRIPTS += tests/cli/bad_config.sh tests/cli/train4.sh tests/cli/bad_shards.sh \
                      tests/cli/resume.sh
TESTS += tests/cli/bad_config.sh tests/cli/train4.sh tests/cli/bad_shards.sh tests/cli/resume.sh \
         scripts/check-layers.sh

# MPI C tests (library level), each run by a .sh wrapper under mpirun with
# a timeout: t_agree checks collective error agreement.
check_PROGRAMS += tests/mpi/t_agree
tests_mpi_t_agree_SOURCES = tests/mpi/t_agree.c tests/mpi/mtest.h
tests_mpi_t_agree_LDADD = libfedsilo.la $(MPI_LIBS)
dist_check_SCRIPTS += tests/mpi/agree.sh
TESTS += tests/mpi/agree.sh
# t_secagg: the pipelined secure sum == plain integer sum, failure path.
check_PROGRAMS += tests/mpi/t_secagg
tests_mpi_t_secagg_SOURCES = tests/mpi/t_secagg.c tests/mpi/mtest.h
tests_mpi_t_secagg_LDADD = libfedsilo.la $(MPI_LIBS)
dist_check_SCRIPTS += tests/mpi/secagg.sh
TESTS += tests/mpi/secagg.sh
# t_aggregate: the fl aggregation interface, plain == secure, refusals,
# nonce freshness (internal API: links the convenience library).
check_PROGRAMS += tests/mpi/t_aggregate
tests_mpi_t_aggregate_SOURCES = tests/mpi/t_aggregate.c tests/mpi/mtest.h
tests_mpi_t_aggregate_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS) -I$(top_srcdir)/src/secagg -I$(top_srcdir)/src/fl
tests_mpi_t_aggregate_LDADD = libfedsilo_internal.la $(DEP_LIBS)
dist_check_SCRIPTS += tests/mpi/aggregate.sh
TESTS += tests/mpi/aggregate.sh
# t_mtest: the harness's own positive control (pass, fail on one rank, hard error).
check_PROGRAMS += tests/mpi/t_mtest
tests_mpi_t_mtest_SOURCES = tests/mpi/t_mtest.c tests/mpi/mtest.h
tests_mpi_t_mtest_LDADD = $(MPI_LIBS)
dist_check_SCRIPTS += tests/mpi/mtest.sh
TESTS += tests/mpi/mtest.sh

# The PMPI spy/tamper library (LD_PRELOAD) for the secure-sum tests.
check_LTLIBRARIES += tests/spy/libfsspy.la
tests_spy_libfsspy_la_SOURCES = tests/spy/fs_mpispy.c
tests_spy_libfsspy_la_CFLAGS = $(AM_CFLAGS) -Wno-missing-prototypes
tests_spy_libfsspy_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_spy_libfsspy_la_LIBADD = $(MPI_LIBS) -ldl
EXTRA_DIST += tests/spy/analyze.py tests/spy/spylib.sh tests/spy/e1_synthetic.py tests/spy/nonce_reuse.py tests/keys.sh tests/slurm.sh \
              tests/cli/metrics_ref.py
dist_check_SCRIPTS += tests/cli/secure.sh tests/cli/spy.sh tests/cli/signal.sh tests/cli/watchdog.sh \
                      tests/cli/manpage.sh tests/cli/standardize.sh tests/cli/dp.sh \
                      tests/cli/ddp.sh tests/cli/resume_keys.sh tests/cli/impute.sh tests/cli/dp_release.sh \
                      tests/cli/resume_pipeline.sh tests/cli/elastic_dp.sh tests/cli/spy_wrappers.sh \
                      tests/cli/spy_controls.sh tests/cli/spy_e1.sh tests/cli/site_join.sh
TESTS += tests/cli/secure.sh tests/cli/spy.sh tests/cli/spy_controls.sh tests/cli/spy_e1.sh tests/cli/spy_wrappers.sh tests/cli/resume_keys.sh tests/cli/signal.sh tests/cli/watchdog.sh tests/cli/manpage.sh tests/cli/dp.sh tests/cli/ddp.sh \
         tests/cli/standardize.sh tests/cli/impute.sh tests/cli/dp_release.sh tests/cli/resume_pipeline.sh \
         tests/cli/elastic_dp.sh tests/cli/site_join.sh
# Acceptance on R's credit and Pima tables: federated pipeline vs scikit-learn.
EXTRA_DIST += tests/cli/tabular_accept.py
dist_check_SCRIPTS += tests/cli/tabular_accept.sh
TESTS += tests/cli/tabular_accept.sh

# Federated analytics (fedsilo stats, ridge) and the examples.
TESTS += tests/analytics/stats.sh tests/analytics/ridge.sh tests/analytics/examples.sh \
         tests/analytics/stats_dp.sh tests/analytics/tabular.sh
dist_check_SCRIPTS += tests/analytics/stats.sh tests/analytics/ridge.sh tests/analytics/stats_dp.sh \
                      tests/analytics/examples.sh tests/analytics/tabular.sh

# Vertical FL: PSI (library), PSI and vertical training (CLI), the CSV-to-model
# pipeline (import --id-column, psi --data, roster role = label) and CLI errors.
check_PROGRAMS += tests/vfl/t_psi
tests_vfl_t_psi_SOURCES = tests/vfl/t_psi.c
tests_vfl_t_psi_LDADD = libfedsilo.la $(MPI_LIBS)
dist_check_SCRIPTS += tests/vfl/psi.sh tests/vfl/psi_cli.sh tests/vfl/train.sh \
                      tests/vfl/pipeline.sh tests/vfl/cli_errors.sh
TESTS += tests/vfl/psi.sh tests/vfl/psi_cli.sh tests/vfl/train.sh tests/vfl/pipeline.sh \
         tests/vfl/cli_errors.sh

# PSI leak and tamper tests: the pairwise-leak fixture (new protocol and the
# old one from bench/psi_ffdhe.c as the positive control) under a PMPI
# recorder that can also alter one message in transit; psi_leak.py is the
# curious rank 0 (no FS_SANFLAGS in the preloaded library).
check_PROGRAMS += tests/vfl/t_psi_leak
tests_vfl_t_psi_leak_SOURCES = tests/vfl/t_psi_leak.c bench/psi_ffdhe.c bench/psi_ffdhe.h
tests_vfl_t_psi_leak_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
tests_vfl_t_psi_leak_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
tests_vfl_t_psi_leak_LDADD = libfedsilo_internal.la $(DEP_LIBS)
check_LTLIBRARIES += tests/vfl/libpsispy.la
tests_vfl_libpsispy_la_SOURCES = tests/vfl/psi_spy.c
tests_vfl_libpsispy_la_CFLAGS = -std=gnu11 $(FS_CWFLAGS) $(MPI_CFLAGS) -Wno-missing-prototypes
tests_vfl_libpsispy_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_vfl_libpsispy_la_LIBADD = $(MPI_LIBS)
EXTRA_DIST += tests/vfl/psi_leak.py
dist_check_SCRIPTS += tests/vfl/psi_leak.sh tests/vfl/psi_tamper.sh
TESTS += tests/vfl/psi_leak.sh tests/vfl/psi_tamper.sh

# Attack tests of vertical training (label theft E3, tail-batch solving E8,
# the partial-score spy, tampered/replayed/swapped messages): a driver with
# the TEST-ONLY switches, a PMPI transport attacker and a gradient observer
# (LD_PRELOAD; no FS_SANFLAGS in preloaded libraries).
check_PROGRAMS += tests/vfl/t_vfl
tests_vfl_t_vfl_SOURCES = tests/vfl/t_vfl.c
tests_vfl_t_vfl_LDADD = libfedsilo.la $(MPI_LIBS)
check_LTLIBRARIES += tests/vfl/libvflmitm.la tests/vfl/libgradspy.la
tests_vfl_libvflmitm_la_SOURCES = tests/vfl/mitm.c
tests_vfl_libvflmitm_la_CFLAGS = -std=gnu11 $(FS_CWFLAGS) $(MPI_CFLAGS) -Wno-missing-prototypes
tests_vfl_libvflmitm_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_vfl_libvflmitm_la_LIBADD = libfedsilo.la $(MPI_LIBS)
tests_vfl_libgradspy_la_SOURCES = tests/vfl/gradspy.c
tests_vfl_libgradspy_la_CFLAGS = -std=gnu11 $(FS_CWFLAGS) -Wno-missing-prototypes
tests_vfl_libgradspy_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_vfl_libgradspy_la_LIBADD = -ldl
dist_check_SCRIPTS += tests/vfl/attack.sh tests/vfl/tail.sh tests/vfl/scores.sh
EXTRA_DIST += tests/vfl/bc.py
TESTS += tests/vfl/attack.sh tests/vfl/tail.sh tests/vfl/scores.sh

# Raw CSV tables (R's credit_data and PimaIndiansDiabetes2) through schema
# draft, check and import csv --schema, against a numpy encoding.
dist_check_SCRIPTS += tests/data/schema_import.sh
TESTS += tests/data/schema_import.sh

# Gradient-boosted trees: the XGBoost JSON export loaded by python3-xgboost
# (same predictions) and test quality against xgboost on real tables; both
# drive bench/gbdt_bench.
dist_check_SCRIPTS += tests/gbdt/export.sh tests/gbdt/quality.sh tests/gbdt/train_mpi.sh \
                     tests/gbdt/credit_mpi.sh tests/gbdt/edge_mpi.sh tests/gbdt/regression_mpi.sh \
                     tests/gbdt/fmnist_mpi.sh
TESTS += tests/gbdt/export.sh tests/gbdt/quality.sh tests/gbdt/train_mpi.sh \
         tests/gbdt/credit_mpi.sh tests/gbdt/edge_mpi.sh tests/gbdt/regression_mpi.sh \
         tests/gbdt/fmnist_mpi.sh
EXTRA_DIST += tests/gbdt/gbdt_data.py tests/gbdt/export.py tests/gbdt/quality.py \
              tests/gbdt/train_mpi.py tests/gbdt/regression_mpi.py
# differential privacy of the level sums (--ddp yes with --model gbdt)
dist_check_SCRIPTS += tests/gbdt/dp_mpi.sh
TESTS += tests/gbdt/dp_mpi.sh
EXTRA_DIST += tests/gbdt/dp_mpi.py
# The authenticated round end against an active transport (the review's E7):
# a PMPI shim that alters one rank's model sum and forges the round-end
# exchange (LD_PRELOAD into every rank through tests/hostile/rankwrap.sh).
check_LTLIBRARIES += tests/integrity/libfsforge.la
tests_integrity_libfsforge_la_SOURCES = tests/integrity/forge.c
tests_integrity_libfsforge_la_CFLAGS = $(AM_CFLAGS) -Wno-missing-prototypes
tests_integrity_libfsforge_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_integrity_libfsforge_la_LIBADD = $(MPI_LIBS)
dist_check_SCRIPTS += tests/integrity/roundend.sh
TESTS += tests/integrity/roundend.sh
# Agreed error messages carry no private value (issue 14, L1): each rank's
# output kept apart, the detail only in the failing rank's own stream.
dist_check_SCRIPTS += tests/cli/private_errors.sh
TESTS += tests/cli/private_errors.sh
