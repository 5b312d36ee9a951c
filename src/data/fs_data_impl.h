/*
 * fs_data_impl.h - helpers shared inside the data layer (src/data/; not
 * installed, no MPI).
 */
#ifndef FEDSILO_FS_DATA_IMPL_H
#define FEDSILO_FS_DATA_IMPL_H

#include <stddef.h>
#include "fs_impl.h"

/*
 * fs_ids_find_repeat - look for two equal strings among ids (n, borrowed,
 * none NULL).  Sorts an O(n) index (ids itself is untouched).  Not
 * collective.  On return *found is 1 if some id repeats; then *first <
 * *second are the 0-based positions of the first and second occurrence
 * of the smallest repeated id (in strcmp order).
 * returns FS_OK or FS_ERR_NOMEM.
 */
FS_INTERN fs_err fs_ids_find_repeat(char *const *ids, size_t n, int *found, size_t *first,
                                    size_t *second);

#endif /* FEDSILO_FS_DATA_IMPL_H */
