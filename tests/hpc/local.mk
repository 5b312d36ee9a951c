# tests/hpc: HPC-operations tier.  Real Slurm (munge + slurmctld + 3 slurmd
# virtual nodes on this host) running the batch scripts of jobs/, walltime
# signal + requeue + resume, multi-host runs over network namespaces with
# delay/loss, and kill -9 of a rank.  They need root; outside CI they skip
# (77) without it or without the slurm/netns packages.  The cluster helpers
# live in tests/infra (see docs/hpc.md).
dist_check_SCRIPTS += tests/hpc/slurm_jobs.sh tests/hpc/slurm_walltime.sh \
                      tests/hpc/netns_train.sh tests/hpc/kill_rank.sh \
                      tests/hpc/elastic_resume.sh tests/hpc/slurm_elastic.sh \
                      tests/hpc/multisite.sh
TESTS += tests/hpc/slurm_jobs.sh tests/hpc/slurm_walltime.sh \
         tests/hpc/netns_train.sh tests/hpc/kill_rank.sh tests/hpc/elastic_resume.sh \
         tests/hpc/slurm_elastic.sh tests/hpc/multisite.sh
EXTRA_DIST += tests/hpc/kill_lib.sh tests/hpc/membership_lib.sh tests/infra/slurm-up.sh tests/infra/slurm-down.sh \
              tests/infra/netns-cluster.sh tests/infra/mpi-rsh-netns \
              jobs/README.md jobs/federation-single-node.sbatch \
              jobs/federation-multi-node.sbatch jobs/federation-requeue.sbatch \
              jobs/federation-elastic.sbatch \
              jobs/mpirun-examples.sh jobs/configs/fmnist-mlp.ini docs/hpc.md
