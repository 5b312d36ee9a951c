# benchmarks: built with the tree (noinst), never part of `make check`.
# `make bench` (or `make bench-train`) runs the training throughput bench,
# which prints fedsilo and PyTorch samples/s and never fails on a threshold.
noinst_PROGRAMS += bench/train_throughput
bench_train_throughput_SOURCES = bench/train_throughput.c
bench_train_throughput_CPPFLAGS = $(AM_CPPFLAGS) -DFS_SRCDIR='"$(abs_top_srcdir)"'
bench_train_throughput_CFLAGS = $(AM_CFLAGS) $(BLAS_CFLAGS)
bench_train_throughput_LDADD = libfedsilo.la $(BLAS_LIBS) -lm
EXTRA_DIST += bench/torch_mlp.py

.PHONY: bench bench-train
bench: bench-train
bench-train: bench/train_throughput$(EXEEXT)
	OPENBLAS_NUM_THREADS=1 PYTHON_TORCH='$(PYTHON_TORCH)' FS_SRCDIR='$(abs_top_srcdir)' \
	  ./bench/train_throughput$(EXEEXT)
EXTRA_DIST += bench/fmnist8.sh bench/optimizers.sh bench/dp_accuracy.sh bench/secsum_netns.sh bench/gbdt_dp.sh

# Benchmark (never part of make check): ./bench/paillier_bench [BITS [N]].
noinst_PROGRAMS += bench/paillier_bench
bench_paillier_bench_SOURCES = bench/paillier_bench.c
bench_paillier_bench_LDADD = libfedsilo.la $(GMP_LIBS)

# GBDT engine driver (speed harness bench/gbdt_bench.py, the quality and
# export tests under tests/gbdt/).  `make bench-gbdt` runs the speed harness.
noinst_PROGRAMS += bench/gbdt_bench
bench_gbdt_bench_SOURCES = bench/gbdt_bench.c
bench_gbdt_bench_LDADD = libfedsilo.la -lm
EXTRA_DIST += bench/gbdt_bench.py bench/gbdt_mpi.py
.PHONY: bench-gbdt
bench-gbdt: bench/gbdt_bench$(EXEEXT)
	OPENBLAS_NUM_THREADS=1 /usr/bin/python3 $(srcdir)/bench/gbdt_bench.py --bench ./bench/gbdt_bench$(EXEEXT) --repeat 3

# PSI speed: `make bench-psi` (3 ranks; BENCH_PSI_FLAGS=--big adds 10^6 ids).
noinst_PROGRAMS += bench/psi_bench
bench_psi_bench_SOURCES = bench/psi_bench.c bench/psi_ffdhe.c bench/psi_ffdhe.h
bench_psi_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/bench
bench_psi_bench_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
bench_psi_bench_LDADD = libfedsilo_internal.la $(DEP_LIBS)
.PHONY: bench-psi
bench-psi: bench/psi_bench$(EXEEXT)
	$(MPIEXEC) $(MPIEXEC_FLAGS) -np 3 ./bench/psi_bench$(EXEEXT) $(BENCH_PSI_FLAGS)
# `mpirun -np 4 fedsilo train --model gbdt` (secure and plain) against xgboost hist.
.PHONY: bench-gbdt-mpi
bench-gbdt-mpi: fedsilo$(EXEEXT)
	OPENBLAS_NUM_THREADS=1 /usr/bin/python3 $(srcdir)/bench/gbdt_mpi.py --fedsilo ./fedsilo$(EXEEXT)

# Fashion-MNIST softmax trees through mpirun -np 4 fedsilo train --model gbdt
# at full size against xgboost hist (minutes): `make bench-gbdt-fmnist`
# (BENCH_FMNIST_ARGS="NTRAIN NTEST ROUNDS DEPTH BINS ETA").
EXTRA_DIST += bench/gbdt_fmnist_mpi.sh
.PHONY: bench-gbdt-fmnist
bench-gbdt-fmnist: fedsilo$(EXEEXT)
	$(srcdir)/bench/gbdt_fmnist_mpi.sh ./fedsilo$(EXEEXT) $(BENCH_FMNIST_ARGS)
