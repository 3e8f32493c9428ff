# test/real/tripadvisor_sql.sh - sourced by the scripts that measure
# TripAdvisor by state through SQL (shared_users_sql.sh, target_only_sql.sh):
# builds and installs as test/lib.sh does, starts a throwaway cluster, loads
# build/real/tripadvisor.tsv into table ta, and sets P (psql), FEATURES (the
# three features' declaration), WORK (a directory removed with the cluster)
# and LOG (a file in it). The caller has cd'd to the repository's root.
DATA=$PWD/build/real/tripadvisor.tsv
[ -f "$DATA" ] || { echo "no $DATA: run test/real/fetch.sh" >&2; exit 1; }
. test/lib.sh
xd_build_install_quietly || exit 1
xd_start_cluster
WORK=$XD_TMP/tripadvisor
LOG=$WORK/log
mkdir "$WORK"
grep -v '^#' "$DATA" > "$WORK/ta.tsv"
P="psql -X -q -v ON_ERROR_STOP=1 -d postgres"
$P <<SQL
CREATE EXTENSION IF NOT EXISTS xdrec;
CREATE TABLE ta(domain text, user_key text, item_key text, rating float8, trip_type text,
	user_region text, item_state text);
\copy ta FROM '$WORK/ta.tsv' WITH (FORMAT text, HEADER true)
SQL
FEATURES='[{"name":"trip_type","kind":"interactional","type":"categorical"},{"name":"user_region","kind":"attributional","type":"categorical","scope":"user"},{"name":"item_state","kind":"attributional","type":"categorical","scope":"item"}]'
