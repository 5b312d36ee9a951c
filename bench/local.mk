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
EXTRA_DIST += bench/fmnist8.sh bench/optimizers.sh bench/dp_accuracy.sh bench/secsum_netns.sh
