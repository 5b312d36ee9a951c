# cli: the fedsilo program.  Links only the public API (libfedsilo.la is
# built with hidden visibility, so internal symbols are not reachable).
fedsilo_SOURCES += src/cli/fedsilo.c src/cli/cli.h src/cli/cli_mpi.c src/cli/cli_site.c src/cli/cli_opts.c \
                   src/cli/cmd_train.c src/cli/cmd_bench.c src/cli/cmd_plot.c \
                   src/cli/progress.c src/cli/progress.h src/cli/cmd_keygen.c src/cli/cmd_data.c \
                   src/cli/cmd_dp.c src/cli/cmd_stats.c src/cli/cmd_vfl.c \
                   src/cli/cmd_schema.c src/cli/cmd_export.c
fedsilo_LDADD = libfedsilo.la $(MPI_LIBS) -lpthread
