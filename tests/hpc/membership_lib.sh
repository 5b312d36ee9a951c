# tests/hpc/membership_lib.sh - checks of a run whose membership changed once
# (sourced after tests/lib.sh by the elastic tests).
#
# check_membership DIR C R OLD NEW: DIR/metrics.jsonl has R lines; rounds
# 1..C name the members OLD, rounds C+1..R the members NEW (comma-separated
# roster names); the checkpoint's membership history is "1-C OLD",
# "C+1-R NEW".  With SAMPLES_OLD and SAMPLES_NEW set, each line's summed row
# count ("samples") must be the one of its membership too.
check_membership() {
  local dir=$1 c=$2 rr=$3 old=$4 new=$5 jold jnew r=0 line want nw hist
  jold="\"${old//,/\", \"}\"" jnew="\"${new//,/\", \"}\""
  while IFS= read -r line; do
    r=$((r + 1))
    if [ $r -le "$c" ]; then want=$jold nw=${SAMPLES_OLD:-}; else want=$jnew nw=${SAMPLES_NEW:-}; fi
    case $line in
      *"\"round\": $r,"*"\"members\": [$want]"*) ;;
      *) fail "metrics line $r: expected members [$want]: $line" ;;
    esac
    [ -z "$nw" ] || case $line in
      *"\"samples\": $nw,"*) ;;
      *) fail "metrics line $r: expected samples $nw: $line" ;;
    esac
  done < "$dir/metrics.jsonl"
  [ $r = "$rr" ] || fail "$r metrics lines, expected $rr"
  hist=$(h5dump -e -a /membership "$dir/checkpoint.h5" | sed -n 's/^ *(0): *"\(.*\)"$/\1/p')
  [ "$hist" = "1-$c $old\\n$((c + 1))-$rr $new\\n" ] || fail "membership history '$hist'"
}
