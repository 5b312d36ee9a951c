# tests/keys.sh - make_consortium DIR N: identity keys DIR/site-<i>.key and a
# roster DIR/roster.ini for N institutions (sourced after tests/lib.sh).
make_consortium() {
  kdir=$1; n=$2
  rm -rf "$kdir"; mkdir -p "$kdir"
  printf '[consortium]\nname = test\n\n' > "$kdir/roster.ini"
  i=0
  while [ $i -lt "$n" ]; do
    "$FEDSILO" keygen --name "site-$i" --out "$kdir/site-$i" > "$kdir/section-$i" 2>/dev/null \
      || hard "keygen failed"
    sed "s/^rank = .*/rank = $i/" "$kdir/section-$i" | grep -v '^;' >> "$kdir/roster.ini"
    echo >> "$kdir/roster.ini"
    i=$((i + 1))
  done
}
