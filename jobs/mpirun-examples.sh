#!/bin/sh
# jobs/mpirun-examples.sh - fedsilo launched with plain mpirun (Open MPI), no
# batch system.  Read it as a cookbook; run it to execute example 1 on this
# machine:  sh jobs/mpirun-examples.sh   (needs shards/, test.h5 and keys/ in
# the current directory: see README "Using it" and docs/keys.md).
# One MPI rank is one institution: -np must equal the number of shards.
set -eu
FEDSILO=${FEDSILO:-fedsilo}
NP=${NP:-4}

# --- 1. laptop / workstation: all ranks on this machine -----------------------
# One BLAS thread per rank, so NP ranks x 1 thread <= cores.  --oversubscribe
# allows more ranks than cores (slower, but fine for small experiments).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mpirun --oversubscribe -np "$NP" "$FEDSILO" train \
  --data 'shards/site-%d.h5' --test test.h5 --model mlp:256,128 --rounds 10 \
  --roster keys/roster.ini --identity 'keys/site-%d.key' --out runs/laptop
exit 0   # the examples below are for reading (or copy one above this line)

# --- 2. several ranks per node with more BLAS threads ---------------------------
# 8 cores: 2 ranks x 4 threads.  Bind each rank to 4 cores (PE=4) so the
# threads of one rank do not migrate onto another rank's cores; -x exports the
# variable to every rank.
mpirun -np 2 --map-by socket:PE=4 --bind-to core -x OPENBLAS_NUM_THREADS=4 \
  "$FEDSILO" train --config jobs/configs/fmnist-mlp.ini --out runs/threads

# --- 3. a cluster without a batch system: hostfile, one institution per host ----
# hosts.txt:   node01 slots=1
#              node02 slots=1
#              node03 slots=1
# Passwordless ssh between the hosts, the same paths everywhere (shared
# filesystem or copied shards), 32 cores per host for BLAS.
mpirun --hostfile hosts.txt -np 3 --map-by ppr:1:node:PE=32 --bind-to core \
  -x OPENBLAS_NUM_THREADS=32 -x LD_LIBRARY_PATH \
  --mca btl self,vader,tcp --mca btl_tcp_if_include 10.0.0.0/16 \
  "$FEDSILO" train --config jobs/configs/fmnist-mlp.ini --out runs/hosts
# btl_tcp_if_include (a subnet or an interface name such as eth1) picks the
# network between the hosts; on InfiniBand Open MPI uses UCX by itself.

# --- 4. mpirun inside a Slurm allocation (instead of srun) ----------------------
# salloc -N 3 --ntasks-per-node=1 --cpus-per-task=16
mpirun --map-by ppr:1:node -x OPENBLAS_NUM_THREADS=16 \
  "$FEDSILO" train --config jobs/configs/fmnist-mlp.ini --out "runs/$SLURM_JOB_ID"

# --- 5. stop a running federation cleanly, continue later -----------------------
# mpirun forwards SIGUSR1 to every rank ("mpirun: Forwarding signal 10 to
# job"): they finish the round, write the checkpoint and exit 3.  (SIGTERM to
# mpirun kills the ranks instead; the last checkpoint stays valid.)  The same
# command with --resume auto continues bit-identically.
kill -USR1 "$MPIRUN_PID"    # the pid of the mpirun above
mpirun -np "$NP" "$FEDSILO" train --config jobs/configs/fmnist-mlp.ini --out runs/laptop --resume auto

# --- 6. one job per site: each institution launches its own mpirun -------------
# (docs/hpc.md, "One job per site").  Once, on a host every site reaches:
ompi-server --no-daemonize --report-uri /shared/fed/ompi-server.uri \
  --mca oob_tcp_static_ipv4_ports 20000 &
# Every site, from its own directory (keys/roster.ini, keys/site-%d.key and the
# shards resolve to that site's own files; every other option is the same
# string everywhere), with its own roster name; a new service name per attempt:
mpirun --ompi-server file:/shared/fed/ompi-server.uri -np 1 \
  --mca oob_tcp_dynamic_ipv4_ports 20010-20099 \
  --mca btl_tcp_port_min_v4 20100 --mca btl_tcp_port_range_v4 100 \
  "$FEDSILO" train --config jobs/configs/fmnist-mlp.ini --out runs/sites \
  --site-rendezvous "consortium-$(date +%Y%m%d)-1" --site hospital-a
