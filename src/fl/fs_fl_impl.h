/*
 * fs_fl_impl.h - internals of the FedAvg program (src/fl; not installed).
 */
#ifndef FEDSILO_FS_FL_IMPL_H
#define FEDSILO_FS_FL_IMPL_H

#include <mpi.h>
#include "fs_mpi_impl.h"
#include "fedsilo/fs_config.h"
#include "fedsilo/fs_fl.h"
#include "fedsilo/fs_model.h"
#include "fedsilo/fs_metrics.h"
#include "secagg/fs_secagg_impl.h"
#include "fed/fs_fed_impl.h"

#endif
