#!/usr/bin/env bash
# cold_prepare.sh - the MovieLens step of test/real/cold_prepare.py on a
# hand-made ratings.csv (the real one is never fetched here): ratings of 4
# or more are the interactions, movies liked by fewer than 5 users leave,
# each user's rows come in timestamp order (ties by movie), and the two
# timestamp features are the UTC quarter of the day and weekday/weekend;
# a malformed row stops it. Then test/real/movielens_data.sh refuses a
# ratings.csv whose rows are not the pinned ones, before preparing anything.
# Needs python3 only (no cluster).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/xdrec-cold_prepare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Sat 2018-09-22 03:00:00, Mon 2018-09-24 13:30:00, 23:59:59 and 06:00:00,
# Fri 2018-09-21 20:00:00 UTC
SAT3=1537585200 MON13=1537795800 MON23=1537833599 MON6=1537768800 FRI20=1537560000
# movie 10: liked by users 1-6; 40: by 1-5 (user 2's and 3's at exactly 4.0,
# user 6's 3.9 is not a like); 20: by 1-4 only; 30: by 1-4, user 5's 3.5 not
cat >"$WORK/ratings.csv" <<CSV
userId,movieId,rating,timestamp
1,40,4.0,$MON13
1,10,4.5,$SAT3
1,20,5.0,$SAT3
1,30,4.5,$MON6
2,40,4.0,$MON23
2,10,5.0,$MON23
2,20,4.0,$MON6
2,30,4.5,$MON6
3,10,4.0,$MON6
3,40,4.0,$MON6
3,20,4.0,$MON6
3,30,5.0,$MON6
4,10,5,$SAT3
4,40,4.5,$MON13
4,20,4.0,$MON6
4,30,4.5,$MON6
5,10,4.5,$MON13
5,40,4.0,$SAT3
5,30,3.5,$MON6
6,10,4.0,$FRI20
6,40,3.9,$MON6
CSV
python3 "$ROOT/test/real/cold_prepare.py" "$WORK/ratings.csv" "$WORK/out.tsv" >/dev/null
printf '%s\n' \
	'#xdrec-real name=ml-latest-small feedback=implicit source=all' \
	'domain	user	item	rating	Daypart:interaction:I:5	Week:interaction:I:3' \
	'all	1	10	4.5	0	1' \
	'all	1	40	4.0	2	0' \
	'all	2	10	5.0	3	0' \
	'all	2	40	4.0	3	0' \
	'all	3	10	4.0	1	0' \
	'all	3	40	4.0	1	0' \
	'all	4	10	5	0	1' \
	'all	4	40	4.5	2	0' \
	'all	5	40	4.0	0	1' \
	'all	5	10	4.5	2	0' \
	'all	6	10	4.0	3	0' >"$WORK/expected.tsv"
diff -u "$WORK/expected.tsv" "$WORK/out.tsv" || fail "prepared table differs from the expected one"

# a row of three fields stops it, naming the line
printf 'userId,movieId,rating,timestamp\n1,10,4.0,%s\n1,40,4.0\n' "$SAT3" >"$WORK/bad.csv"
if python3 "$ROOT/test/real/cold_prepare.py" "$WORK/bad.csv" "$WORK/bad.tsv" 2>"$WORK/err"; then
	fail "a malformed row was accepted"
fi
grep -q 'bad.csv:3: 3 fields' "$WORK/err" || fail "the error does not name the row: $(cat "$WORK/err")"

# movielens_data.sh: rows other than the pinned ones are refused, nothing prepared
mkdir -p "$WORK/raw"
cp "$WORK/ratings.csv" "$WORK/raw/ratings.csv"
if XD_ML_RAW="$WORK/raw" XD_REAL_OUT="$WORK/real" bash "$ROOT/test/real/movielens_data.sh" 2>"$WORK/err"; then
	fail "movielens_data.sh accepted rows that are not ml-latest-small's"
fi
grep -q "SHA-256 is .*, expected " "$WORK/err" || fail "no checksum message: $(cat "$WORK/err")"
[ ! -e "$WORK/real/ml-latest-small.tsv" ] || fail "a table was prepared from unchecked rows"
echo "cold_prepare: ok"
