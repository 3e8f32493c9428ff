#!/usr/bin/env bash
# test/real/incarmusic_wall_sql.sh - the default's wall time against one
# target-only fit through SQL on InCarMusic (docs/transfer.md, "InCarMusic
# regenerated after the damped start"): per seed, one explicit model over
# build/real/incarmusic.tsv (its eight context columns as categorical
# interactional features, -1 as NULL), the source Pop trained, then per
# category xdrec.adapt(m, t, 'target_only') and xdrec.adapt(m, t) (the
# default: auto with auto_blend), each timed by clock_timestamp() around its
# call; odd seeds run target-only first, even seeds the default first (the
# first call on a category is the slower). Prints one line per fit: both wall
# times in seconds, both test RMSEs and the method the default kept.
#
# Usage: XD_PRIVATE_PG=/work/pg-NAME test/real/incarmusic_wall_sql.sh [seed...]
# (default seeds 1-3; about 1 min a seed on a shared 2-core machine); needs
# build/real/incarmusic.tsv (test/real/fetch.sh). Builds, installs and starts
# a throwaway cluster as test/lib.sh does.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
SEEDS=${*:-1 2 3}
DATA=$PWD/build/real/incarmusic.tsv
[ -f "$DATA" ] || { echo "no $DATA: run test/real/fetch.sh" >&2; exit 1; }
. test/lib.sh
xd_build_install_quietly || exit 1
xd_start_cluster
W=$XD_TMP/icm; mkdir "$W"
grep -v '^#' "$DATA" | awk -F'\t' 'BEGIN{OFS="\t"} NR==1{print "domain","user_key","item_key","rating","f1","f2","f3","f4","f5","f6","f7","f8"; next} {for(i=5;i<=12;i++) if($i=="-1") $i="\\N"; print}' > "$W/im.tsv"
P="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
$P <<SQL
CREATE EXTENSION IF NOT EXISTS xdrec;
CREATE TABLE im(domain text, user_key text, item_key text, rating float8, f1 text, f2 text, f3 text, f4 text, f5 text, f6 text, f7 text, f8 text);
\copy im FROM '$W/im.tsv' WITH (FORMAT text, HEADER true)
SQL
F='['; for i in 1 2 3 4 5 6 7 8; do F="$F{\"name\":\"f$i\",\"kind\":\"interactional\",\"type\":\"categorical\"}"; [ $i -lt 8 ] && F="$F,"; done; F="$F]"
for seed in $SEEDS; do
  $P -c "SELECT xdrec.create_model('m$seed', 'im', 'user_key', 'item_key', 'domain', 'rating', '$F', '{\"seed\": $seed, \"feedback\": \"explicit\"}')" >/dev/null
  $P -c "SELECT xdrec.train('m$seed', 'Pop')" >/dev/null
  if [ $((seed % 2)) = 1 ]; then A=j; AM=", 'target_only'"; B=k; BM=; TO=ta; TD=tb; else A=k; AM=; B=j; BM=", 'target_only'"; TO=tb; TD=ta; fi
  for t in Disco Rock Blues Hip_Hop Classical Jazz Country Metal Reggae; do
    $P -At <<SQL
SELECT set_config('x.t0', clock_timestamp()::text, false);
SELECT set_config('x.$A', xdrec.adapt('m$seed', '$t'$AM)::text, false);
SELECT set_config('x.ta', (extract(epoch from clock_timestamp() - current_setting('x.t0')::timestamptz))::text, false);
SELECT set_config('x.t0', clock_timestamp()::text, false);
SELECT set_config('x.$B', xdrec.adapt('m$seed', '$t'$BM)::text, false);
SELECT set_config('x.tb', (extract(epoch from clock_timestamp() - current_setting('x.t0')::timestamptz))::text, false);
SELECT format('seed %s %s first %s to %s default %s to_rmse %s def_rmse %s def_method %s', $seed, '$t', '$A', round(current_setting('x.$TO')::numeric, 3),
  round(current_setting('x.$TD')::numeric, 3),
  current_setting('x.j')::jsonb->'test'->>'rmse', current_setting('x.k')::jsonb->'test'->>'rmse', current_setting('x.k')::jsonb->>'method');
SQL
  done
done | grep '^seed'
