# secsum: the secure-sum engine (no MPI): fixed-point codec, mask graph,
# pairwise masker, and the engine-side bench helpers.
libfedsilo_internal_la_SOURCES += src/secsum/fs_fixed.c src/secsum/fs_maskgraph.c \
                                  src/secsum/fs_masker.c src/secsum/fs_secsum_bench.c
noinst_HEADERS += src/secsum/fs_fixed_impl.h
fedsiloinclude_HEADERS += include/fedsilo/fs_fixed.h include/fedsilo/fs_secsum.h
