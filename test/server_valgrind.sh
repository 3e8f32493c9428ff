#!/usr/bin/env bash
# test/server_valgrind.sh (make check-server-valgrind) - the regression tests
# against a server whose every process runs under valgrind memcheck, too slow
# for test/check.sh. xdrec is built as usual and installed into its own
# private copy of PostgreSQL ($XD_PRIVATE_PG-valgrind, default
# /tmp/xdpg-valgrind). Memcheck watches addressability only
# (--undef-value-errors=no): PostgreSQL is not built with its Valgrind
# support, so uninitialised-byte reports from its own buffers would be noise,
# while an invalid read, write or free in xdrec (the core's malloc'ed arrays,
# the backend's palloc'ed blocks) is what this looks for. Leaks are not
# checked: a backend frees by memory context. Each process logs to its own
# file; the run fails on any error, a failed test or a crashed backend.
#
# (An -fsanitize=address build was tried first: on this Debian 12 the server
# hangs at start when libasan is preloaded, in glibc's bindtextdomain lock.)
set -uo pipefail
XD_PRIVATE_PG="${XD_PRIVATE_PG:-/tmp/xdpg}-valgrind"
export XD_PRIVATE_PG
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$XD_ROOT"

set -e
xd_install_deps
xd_build_install
xd_start_cluster
REPORTS=$(mktemp -d /tmp/xdrec-server-valgrind.XXXXXX)
chmod 777 "$REPORTS"
trap 'xd_cleanup; rm -rf "$REPORTS"' EXIT
# restart the throwaway server under valgrind, every child process too
runuser -u postgres -- "$XD_PGBIN/pg_ctl" -D "$XD_TMP/data" -m fast -w stop >/dev/null
runuser -u postgres -- valgrind --quiet --trace-children=yes --undef-value-errors=no \
	--leak-check=no --error-limit=no --log-file="$REPORTS/vg.%p" \
	--suppressions="$XD_ROOT/test/server_valgrind.supp" \
	"$XD_PGBIN/postgres" -D "$XD_TMP/data" >>"$XD_TMP/server.log" 2>&1 &
set +e
for ((i = 0; i < 120; i++)); do
	"$XD_PGBIN/pg_isready" -q && break
	sleep 1
done
"$XD_PGBIN/pg_isready" -q || { echo "the server did not start under valgrind"; tail -20 "$XD_TMP/server.log"; exit 1; }

xd_log "regression tests against a server under valgrind"
t0=$(date +%s)
# results in a directory of their own, so test/check.sh can run beside it
mkdir -p "$REPORTS/regress"
make -s installcheck REGRESS_OPTS="--inputdir=. --outputdir=$REPORTS/regress" \
	${XD_REGRESS:+REGRESS="$XD_REGRESS"} 2>&1 | tee "$XD_TMP/regress.log"
rc=${PIPESTATUS[0]}
[ $rc -ne 0 ] && [ -f "$REPORTS/regress/regression.diffs" ] && cat "$REPORTS/regress/regression.diffs"
ran=$(grep -cE '^test .* \.\.\. ' "$XD_TMP/regress.log")
failed=$(grep -cE '\.\.\. FAILED|failed \(ignored\)' "$XD_TMP/regress.log")
crashes=$(grep -c "terminated by signal" "$XD_TMP/server.log")
errors=0
for f in "$REPORTS"/vg.*; do
	[ -s "$f" ] || continue
	errors=$((errors + 1))
	xd_log "valgrind report $f"
	head -80 "$f"
done
echo
xd_log "server under valgrind: $((ran - failed)) of $ran regression tests passed in $(($(date +%s) - t0))s; $errors processes with valgrind errors; $crashes backend crashes"
[ $rc -eq 0 ] && [ "$errors" -eq 0 ] && [ "$crashes" -eq 0 ]
