#!/bin/sh
# One job per site on one host (the multi-host version with a firewall is
# tests/hpc/multisite.sh): an ompi-server, then two separately started
# mpiruns -- a 2-rank site running site-2 and site-0 (names out of roster
# order) and a 1-rank site running site-1 -- joined with --site-rendezvous.
#   1. `fedsilo train` ends with the model_hash and parameter bytes of one
#      `mpirun -np 3` job; `fedsilo stats` prints the same statistics;
#   2. usage errors of the --site options exit 2 with a clear message before
#      MPI starts (those found after MPI_Init, a stale rendezvous name and the
#      timeouts are checked in tests/hpc/multisite.sh).
. "${FS_SRCDIR:-.}/tests/lib.sh"
. "$FS_SRCDIR/tests/keys.sh"
need_fmnist
command -v ompi-server >/dev/null || need "ompi-server missing (openmpi-bin)"

ompi-server --no-daemonize --report-uri "$WORK/uri" </dev/null >"$WORK/ompi-server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/uri" ] && break; sleep 0.1; done
[ -s "$WORK/uri" ] || { cat "$WORK/ompi-server.log"; hard "ompi-server did not start"; }

make_fmnist "$WORK/d" 300 100 3 dirichlet --alpha 0.5
make_consortium "$WORK/k" 3
SVC=sj$$
common="--roster $WORK/k/roster.ini --identity $WORK/k/site-%d.key --data $WORK/d/shards/site-%d.h5"
train="train $common --test $WORK/d/test.h5 --model mlp:16 --rounds 2 --quiet"
# site NP NAMES SERVICE ARGS...: one site's own mpirun
site() {
  np=$1 names=$2 svc=$3; shift 3
  timeout -k 5 60 "$MPIEXEC" $MPIEXEC_FLAGS --ompi-server "file:$WORK/uri" -np "$np" "$FEDSILO" "$@" \
      --site-rendezvous "$svc" --site "$names" </dev/null
}
two_sites() {   # two_sites SERVICE OUTPREFIX ARGS...
  svc=$1 out=$2; shift 2
  site 2 site-2,site-0 "$svc" "$@" > "$out-a.txt" 2>&1 &
  pa=$!
  site 1 site-1 "$svc" "$@" > "$out-b.txt" 2>&1 || { cat "$out-b.txt"; fail "site b failed"; }
  wait $pa || { cat "$out-a.txt"; fail "site a failed"; }
}

t0=$(date +%s)
# 1. train and stats
run_mpi 3 60 "$FEDSILO" $train --out "$WORK/one" > "$WORK/one.txt" 2>&1 || { cat "$WORK/one.txt"; fail "one job failed"; }
two_sites "$SVC-t" "$WORK/two" $train --out "$WORK/two"
b=$(same_model "$WORK/one/checkpoint.h5" "$WORK/two/checkpoint.h5" "one job vs two sites") || exit 1
note "after $(( $(date +%s) - t0 )) s: train: a 2-rank and a 1-rank site == mpirun -np 3 (model_hash $b)"
run_mpi 3 60 "$FEDSILO" stats $common > "$WORK/stats-one.txt" 2>&1 || { cat "$WORK/stats-one.txt"; fail "stats one job"; }
two_sites "$SVC-s" "$WORK/stats" stats $common
# the federation's rank 0 (site-0) is world rank 1 of site a: its lines carry no rank prefix
# (the first line's timing aside)
strip() { grep -v '^fedsilo\[' "$1" | sed 's/ ([0-9.]* s)$//'; }
strip "$WORK/stats-one.txt" > "$WORK/s1"
strip "$WORK/stats-a.txt" > "$WORK/s2"
[ -s "$WORK/s1" ] && cmp -s "$WORK/s1" "$WORK/s2" || { diff "$WORK/s1" "$WORK/s2" | head; fail "stats differ"; }
note "after $(( $(date +%s) - t0 )) s: stats: the same $(wc -l < "$WORK/s1") lines"

# 2. usage errors (before MPI starts)
expect2() {   # expect2 PATTERN CMD...
  pat=$1; shift
  "$@" > "$WORK/err.txt" 2>&1; st=$?
  [ $st = 2 ] && grep -q -- "$pat" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "want status 2 and '$pat', got $st"; }
}
expect2 "go together" "$FEDSILO" $train --site site-0
expect2 "go together" "$FEDSILO" $train --site-rendezvous x
expect2 "site-timeout must be" "$FEDSILO" $train --site-rendezvous x --site site-0 --site-timeout 0
note "PASS in $(( $(date +%s) - t0 )) s"
