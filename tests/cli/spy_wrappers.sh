#!/bin/sh
# The message spy (tests/spy/fs_mpispy.c) must see every MPI call that moves
# data: every MPI_ function that libfedsilo or the fedsilo binary imports
# (nm -D) is either wrapped by the spy library (defined in libfsspy.so) or in
# the list below of calls that carry no caller data (environment, sizes,
# error handling, communicator management). A new MPI communication call in
# fedsilo without a spy wrapper fails this test.  Also: neither the library
# nor the binary contains a spy hook (no FS_SPY_ variable).
. "${FS_SRCDIR:-.}/tests/lib.sh"
SPY="$FS_BUILDDIR/tests/spy/.libs/libfsspy.so"
LIB="$FS_BUILDDIR/.libs/libfedsilo.so"
BIN="$FS_BUILDDIR/.libs/fedsilo"; [ -f "$BIN" ] || BIN="$FEDSILO"
[ -f "$SPY" ] || fail "spy library $SPY missing"
[ -f "$LIB" ] || fail "library $LIB missing"
command -v nm >/dev/null 2>&1 || hard "nm missing (binutils)"
nodata="MPI_Abort MPI_Comm_dup MPI_Comm_free MPI_Comm_rank MPI_Comm_set_errhandler MPI_Comm_size
MPI_Comm_split MPI_Comm_split_type MPI_Error_class MPI_Error_string MPI_Finalize MPI_Finalized
MPI_Get_count MPI_Init MPI_Init_thread MPI_Initialized MPI_Wtime MPI_Wtick MPI_Type_size
MPI_Type_get_extent MPI_Query_thread"
# The one-job-per-site join (src/cli/cli_site.c, --site-rendezvous) runs
# before any caller data exists: port and service names, and the
# construction of the federation's communicator.  The member indices it
# allgathers go through the wrapped MPI_Allgather.
nodata="$nodata MPI_Open_port MPI_Close_port MPI_Publish_name MPI_Unpublish_name MPI_Lookup_name
MPI_Comm_accept MPI_Comm_connect MPI_Intercomm_merge"
wrapped=$(nm -D --defined-only "$SPY" | awk '$3 ~ /^MPI_/ {print $3}' | sort -u)
for w in MPI_Send MPI_Recv MPI_Sendrecv MPI_Allreduce MPI_Iallreduce MPI_Reduce MPI_Allgather \
         MPI_Bcast MPI_Barrier MPI_Ibarrier MPI_Wait MPI_Test MPI_Waitall MPI_Testall; do
  echo "$wrapped" | grep -qx "$w" || fail "spy library does not define $w"
done
used=$( { nm -D --undefined-only "$LIB"; nm -D --undefined-only "$BIN" 2>/dev/null \
          || nm --undefined-only "$BIN"; } | awk '{print $NF}' | sed 's/@.*//' \
        | grep -E '^P?MPI_' | sort -u)
[ -n "$used" ] || fail "no MPI_ symbol imported by $LIB: nm output not understood"
bad=0
for s in $used; do
  case "$s" in PMPI_*) note "calls $s directly (bypasses any PMPI tool)"; bad=1; continue;; esac
  echo "$wrapped" | grep -qx "$s" && continue
  echo $nodata | tr ' ' '\n' | grep -qx "$s" && continue
  note "MPI call $s is imported by fedsilo but neither wrapped by the spy nor known to carry no data"
  bad=1
done
[ $bad = 0 ] || fail "spy wrapper list incomplete"
# The spy's ground truth and mutations live in the preloaded test library
# only: the library and the binary never read its environment variables.
for f in "$LIB" "$BIN"; do
  if grep -aq 'FS_SPY_' "$f"; then fail "$f mentions FS_SPY_: a test hook in the product"; fi
done
note "$(echo "$used" | wc -l) MPI symbols imported, $(echo "$wrapped" | wc -l) wrapped"
note PASS
