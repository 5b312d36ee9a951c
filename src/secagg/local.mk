# secagg: the MPI binding of the secure sum (key setup, masked allreduce),
# the aggregation interface (plain or secure) and the distributed-DP codec
# on top of the secure sum.
libfedsilo_internal_la_SOURCES += src/secagg/fs_secagg_mpi.c src/secagg/fs_aggregate.c \
                                  src/secagg/fs_ddp.c
noinst_HEADERS += src/secagg/fs_secagg_impl.h src/secagg/fs_ddp.h
fedsiloinclude_HEADERS += include/fedsilo/fs_secagg.h
