#!/bin/sh
# mkseeds.sh SEEDGEN OUTDIR - seed corpora of the fuzz targets, generated
# (nothing binary is committed): OUTDIR/<target>/ for csv, idx, config,
# roster, hdf5, checkpoint, schema.  SEEDGEN is tests/fuzz/seedgen.c built by
# run.sh.
set -eu
gen=$1; out=$2
for t in csv idx config roster hdf5 checkpoint schema; do mkdir -p "$out/$t"; done
# CSV: the first byte of an input selects the task and the label column.
printf '\000a,b,label\n1,2,0\n3,4,1\n5,6,2\n' > "$out/csv/basic"
printf '\000\357\273\277"x","y z",label\r\n" 1.5 ","2e3",benign\r\n-1,.5,malignant\r\n' > "$out/csv/quoted-bom-crlf"
printf '\001x1,x2,y\n1,2,3.5\n4,5,-6e-3\n\n' > "$out/csv/regression"
printf '\002label,f\n-1,0\n1,2\n' > "$out/csv/first-col-label"
printf '\000a,label\n"say ""hi""",1\n2,0\n' > "$out/csv/escaped-quote"
# IDX: [2-byte LE image length][limit byte][images][labels]
img=$(mktemp); lab=$(mktemp)
printf '\000\000\010\003\000\000\000\003\000\000\000\002\000\000\000\002' > "$img"
printf '\001\002\003\004\005\006\007\010\011\012\013\014' >> "$img"
printf '\000\000\010\001\000\000\000\003\000\001\002' > "$lab"
n=$(wc -c < "$img")
{ printf "\\$(printf %03o "$n")\\000\\000"; cat "$img" "$lab"; } > "$out/idx/plain"
gzip -c "$img" > "$img.gz"; n=$(wc -c < "$img.gz")
{ printf "\\$(printf %03o "$n")\\000\\002"; cat "$img.gz" "$lab"; } > "$out/idx/gzip-images"
rm -f "$img" "$img.gz" "$lab"
# INI configuration
cat > "$out/config/full.ini" <<'INI'
; a run configuration
[data]
data = shards/site-%d.h5
test = test.h5
[model]
model = mlp:16,8
[train]
lr = 0.05
momentum = 0.9
batch_size = 32
local_epochs = 2
[round]
rounds = 3
aggregation = secure
seed = 7
[secagg]
ring_bits = 64
frac_bits = 20
clip = 2.5
rounding = stochastic
mask_degree = 2
insecure_no_auth = yes
[output]
out = runs/x
checkpoint_every = 1
resume = auto
INI
printf '[train]\nlr: 0.1 ; comment\n# c\n[round]\nrounds = 2\n' > "$out/config/small.ini"
# Roster (public keys are arbitrary valid encodings of 32 bytes)
cat > "$out/roster/three.ini" <<'INI'
# Consortium roster
[consortium]
name = fuzz
dh_group = ffdhe3072
[institution "hospital-a"]
rank = 0
public_key = ed25519:Qh1qsVAQqs3p/qdFeiw5lAU3Ve6j7yXR2Ec667FkX3U=
data = /project/a/train.h5   ; optional
[institution "hospital-b"]
rank = 1
public_key = ed25519:1eymbD7H/0YMJB2rEOVZB2T4jh6UdhfUKCLhOCTDPII=
  [institution "lab.c_2"]
  rank: 2
  public_key: ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
INI
printf '[institution "x"]\nrank = 0\npublic_key = ed25519:Qh1qsVAQqs3p/qdFeiw5lAU3Ve6j7yXR2Ec667FkX3U=\n' > "$out/roster/one.ini"
# Schema: [mode byte: delimiter][2-byte LE schema length][schema][CSV]
schema_seed() {  # schema_seed NAME MODE-OCTAL SCHEMA-TEXT CSV-TEXT
  printf '%s' "$3" > "$out/schema/.s"; n=$(wc -c < "$out/schema/.s")
  { printf "\\$2\\$(printf %03o $((n % 256)))\\$(printf %03o $((n / 256)))"
    cat "$out/schema/.s"; printf '%s' "$4"; } > "$out/schema/$1"
  rm -f "$out/schema/.s"
}
schema_seed full 000 '[schema]
name = fuzz
missing = "", NA, ?
extra_columns = ignore
[column y]
kind = label
classes = good, bad
[column age]
kind = numeric
impute = indicator
range = 0:120
out_of_range = clip
[column home]
kind = categorical
categories = rent, "own, outright"
categories += mortgage
unknown = other
impute = mode
[column pid]
kind = id
[column notes]
kind = ignore
' 'pid,y,age,home,extra
1,good,30,rent,x
2,bad,NA,"own, outright",y
3,good,130,castle,"a
b"
4,bad,-1,?,z
'
schema_seed semicolon 001 '[column t]
kind = label
type = numeric
[column x]
kind = numeric
missing = -
impute = constant:0
' 't;x
1.5;2
-3;-
'
schema_seed errors 000 '[column y]
kind = label
classes = a, b
[column c]
kind = categorical
categories = u, v
impute = none
' 'y,c
a,u
c,w
b,
'
# HDF5 datasets and a checkpoint, written by the library
"$gen" "$out"
