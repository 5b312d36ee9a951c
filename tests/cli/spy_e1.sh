#!/bin/sh
# The review's E1 blind spots of the old spy detector (raw float update also
# sent, unmasked statistics, 0.9% unmasked coordinates, public-keyed masks,
# masks reused in round 2; and masks removed), re-created as synthetic
# records by tests/spy/e1_synthetic.py: tests/spy/analyze.py must flag each
# and pass the correct masking.
. "${FS_SRCDIR:-.}/tests/lib.sh"
/usr/bin/python3 -c 'import numpy' 2>/dev/null || hard "python3-numpy missing (scripts/install-deps.sh data)"
/usr/bin/python3 "$FS_SRCDIR/tests/spy/e1_synthetic.py" "$WORK" || fail "a synthetic E1 case got the wrong verdict"
note PASS
