/*
 * fedsilo.h - umbrella header of libfedsilo (secure cross-silo federated
 * learning over MPI).  Include this one header to get the whole public API.
 */
#ifndef FEDSILO_H
#define FEDSILO_H

#include "fedsilo/fs_export.h"
#include "fedsilo/fs_version.h"
#include "fedsilo/fs_error.h"
#include "fedsilo/fs_core.h"
#include "fedsilo/fs_agree.h"
#include "fedsilo/fs_file.h"
#include "fedsilo/fs_crypto.h"
#include "fedsilo/fs_prg.h"
#include "fedsilo/fs_paillier.h"
#include "fedsilo/fs_fixed.h"
#include "fedsilo/fs_secsum.h"
#include "fedsilo/fs_secagg.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_schema.h"
#include "fedsilo/fs_dp.h"
#include "fedsilo/fs_model.h"
#include "fedsilo/fs_dpsgd.h"
#include "fedsilo/fs_metrics.h"
#include "fedsilo/fs_opts.h"
#include "fedsilo/fs_config.h"
#include "fedsilo/fs_ledger.h"
#include "fedsilo/fs_fed.h"
#include "fedsilo/fs_ckpt.h"
#include "fedsilo/fs_prep.h"
#include "fedsilo/fs_fl.h"
#include "fedsilo/fs_stats.h"
#include "fedsilo/fs_psi.h"
#include "fedsilo/fs_vfl.h"
#include "fedsilo/fs_gbdt.h"
#include "fedsilo/fs_gbdt_fed.h"

#endif /* FEDSILO_H */
