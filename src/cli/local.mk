# cli: the fedsilo program.  Links only the public API (libfedsilo.la is
# built with hidden visibility, so internal symbols are not reachable).
fedsilo_SOURCES += src/cli/cmd_plot.c src/cli/cmd_plot.h src/cli/progress.c src/cli/progress.h
fedsilo_SOURCES += src/cli/fedsilo.c src/cli/cmd_train.c src/cli/cli.h src/cli/cmd_bench.c
fedsilo_LDADD = libfedsilo.la $(MPI_LIBS) -lpthread
