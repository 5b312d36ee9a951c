# secsum MPI binding: key setup and masked allreduce (fs_secagg.h).
libfedsilo_internal_la_SOURCES += src/secsum/fs_secagg_mpi.c
fedsiloinclude_HEADERS += include/fedsilo/fs_secagg.h
