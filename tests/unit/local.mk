# tests/unit: check suites of the library layers, no MPI_Init.  They link
# the internal library (FS_INTERN symbols reachable).
UNIT_TESTS = tests/unit/check_crypto tests/unit/check_data tests/unit/check_server_opt \
             tests/unit/check_dp tests/unit/check_fixed tests/unit/check_secsum \
             tests/unit/check_model tests/unit/check_paillier tests/unit/check_config \
             tests/unit/check_ckpt tests/unit/check_fed tests/unit/check_metrics \
             tests/unit/check_ddp tests/unit/check_schema tests/unit/check_gbdt \
             tests/unit/check_aead tests/unit/check_vfl tests/unit/check_psi
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
tests_unit_check_crypto_SOURCES = tests/unit/check_crypto.c
tests_unit_check_crypto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_crypto_LDADD = $(UNIT_LIBS)
tests_unit_check_data_SOURCES = tests/unit/check_data.c tests/unit/unit_tmpdir.h
tests_unit_check_data_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_data_LDADD = $(UNIT_LIBS)
tests_unit_check_server_opt_SOURCES = tests/unit/check_server_opt.c
tests_unit_check_server_opt_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_server_opt_LDADD = $(UNIT_LIBS)
tests_unit_check_dp_SOURCES = tests/unit/check_dp.c
tests_unit_check_dp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_dp_LDADD = $(UNIT_LIBS)
tests_unit_check_fixed_SOURCES = tests/unit/check_fixed.c
tests_unit_check_fixed_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_fixed_LDADD = $(UNIT_LIBS)
tests_unit_check_secsum_SOURCES = tests/unit/check_secsum.c
tests_unit_check_secsum_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_secsum_LDADD = $(UNIT_LIBS)
tests_unit_check_model_SOURCES = tests/unit/check_model.c
tests_unit_check_model_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_model_LDADD = $(UNIT_LIBS)
tests_unit_check_paillier_SOURCES = tests/unit/check_paillier.c
tests_unit_check_paillier_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_paillier_LDADD = $(UNIT_LIBS)
tests_unit_check_config_SOURCES = tests/unit/check_config.c
tests_unit_check_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_config_LDADD = $(UNIT_LIBS)
tests_unit_check_ckpt_SOURCES = tests/unit/check_ckpt.c
tests_unit_check_ckpt_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_ckpt_LDADD = $(UNIT_LIBS)
tests_unit_check_fed_SOURCES = tests/unit/check_fed.c
tests_unit_check_fed_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_fed_LDADD = $(UNIT_LIBS)
tests_unit_check_metrics_SOURCES = tests/unit/check_metrics.c
tests_unit_check_metrics_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_metrics_LDADD = $(UNIT_LIBS)
tests_unit_check_ddp_SOURCES = tests/unit/check_ddp.c
tests_unit_check_ddp_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/secagg
tests_unit_check_ddp_LDADD = $(UNIT_LIBS)
tests_unit_check_schema_SOURCES = tests/unit/check_schema.c tests/unit/unit_tmpdir.h
tests_unit_check_schema_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/data
tests_unit_check_schema_LDADD = $(UNIT_LIBS)
tests_unit_check_gbdt_SOURCES = tests/unit/check_gbdt.c
tests_unit_check_gbdt_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/src/gbdt
tests_unit_check_gbdt_LDADD = $(UNIT_LIBS)
tests_unit_check_aead_SOURCES = tests/unit/check_aead.c
tests_unit_check_aead_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_aead_LDADD = $(UNIT_LIBS)
tests_unit_check_vfl_SOURCES = tests/unit/check_vfl.c
tests_unit_check_vfl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_vfl_LDADD = $(UNIT_LIBS)
tests_unit_check_psi_SOURCES = tests/unit/check_psi.c
tests_unit_check_psi_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_psi_LDADD = $(UNIT_LIBS)
