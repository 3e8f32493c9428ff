#!/usr/bin/env bash
# test/asan.sh (make check-asan) - the regression tests against xdrec built
# with -fsanitize=address, too slow for test/check.sh. The extension is
# built from a copy of the working tree (so the normal build's objects are
# untouched) and installed into its own private copy of PostgreSQL
# ($XD_PRIVATE_PG-asan, default /tmp/xdpg-asan); the server runs with the
# ASan runtime preloaded (postgres itself is not instrumented) and
# ASAN_OPTIONS=detect_leaks=0 (a backend frees by memory context, not one by
# one, so leak reports would be noise). ASan writes each report to a file;
# the run fails on any report, a failed test or a crashed backend.
set -uo pipefail
XD_PRIVATE_PG="${XD_PRIVATE_PG:-/tmp/xdpg}-asan"
export XD_PRIVATE_PG
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

set -e
xd_install_deps
ASAN_LIB=$(gcc -print-file-name=libasan.so)
[ -f "$ASAN_LIB" ] || { echo "no libasan.so for gcc" >&2; exit 1; }
BUILD=$(mktemp -d /tmp/xdrec-asan-build.XXXXXX)
REPORTS=$(mktemp -d /tmp/xdrec-asan-reports.XXXXXX)
chmod 777 "$REPORTS"
(cd "$XD_ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$BUILD")
xd_log "building xdrec with -fsanitize=address in $BUILD"
make -C "$BUILD" -s -j2 COPT="-fsanitize=address -fno-omit-frame-pointer -g" >/dev/null
make -C "$BUILD" -s install COPT="-fsanitize=address -fno-omit-frame-pointer -g" >/dev/null
xd_start_cluster
trap 'xd_cleanup; rm -rf "$BUILD" "$REPORTS"' EXIT
# restart the throwaway server with the ASan runtime loaded first
runuser -u postgres -- "$XD_PGBIN/pg_ctl" -D "$XD_TMP/data" -m fast -w stop >/dev/null
runuser -u postgres -- env LD_PRELOAD="$ASAN_LIB" \
	ASAN_OPTIONS="detect_leaks=0:log_path=$REPORTS/asan:detect_stack_use_after_return=0" \
	"$XD_PGBIN/pg_ctl" -D "$XD_TMP/data" -l "$XD_TMP/server.log" -w start >/dev/null
set +e

xd_log "regression tests under AddressSanitizer"
t0=$(date +%s)
make -C "$BUILD" -s installcheck 2>&1 | tee "$XD_TMP/regress.log"
rc=${PIPESTATUS[0]}
[ $rc -ne 0 ] && [ -f "$BUILD/regression.diffs" ] && cat "$BUILD/regression.diffs"
ran=$(grep -cE '^(not )?ok |^test .* \.\.\. ' "$XD_TMP/regress.log")
failed=$(grep -cE '\.\.\. FAILED|failed \(ignored\)' "$XD_TMP/regress.log")
crashes=$(grep -c "terminated by signal" "$XD_TMP/server.log")
reports=$(find "$REPORTS" -type f | wc -l)
for f in "$REPORTS"/*; do
	[ -f "$f" ] && { xd_log "AddressSanitizer report $f"; head -60 "$f"; }
done
echo
xd_log "asan: $((ran - failed)) of $ran regression tests passed in $(($(date +%s) - t0))s; $reports AddressSanitizer reports; $crashes backend crashes"
[ $rc -eq 0 ] && [ "$reports" -eq 0 ] && [ "$crashes" -eq 0 ]
