#!/usr/bin/env bash
# user_docs.sh - the documents a user reads stand alone: no reference to a
# design file they do not have, no issue numbers; and the README opens with
# what xdrec does and the install on a server the user already runs.
# (architecture.md, CONTRIBUTING.md, training.md and transfer.md are for the
# project's engineers; the reports are generated.)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
USER_DOCS=(README.md docs/tutorial.md docs/sql-reference.md docs/jobs.md docs/security.md
	docs/serving.md docs/reliability.md docs/generator.md)
for f in "${USER_DOCS[@]}"; do
	[ -f "$ROOT/$f" ] || fail "$f is missing"
	if grep -nE 'DESIGN|[Ii]ssue #?[0-9]' "$ROOT/$f"; then
		fail "$f cites the design file or an issue number (above)"
	fi
done
# the first screen of the README: what it is, then make install and CREATE EXTENSION
head -15 "$ROOT/README.md" | grep -q 'make && make install' || fail "README.md does not open with make && make install"
head -15 "$ROOT/README.md" | grep -q 'CREATE EXTENSION xdrec' || fail "README.md does not open with CREATE EXTENSION xdrec"
[ "$(grep -n 'apt-get' "$ROOT/README.md" | head -1 | cut -d: -f1)" -gt 15 ] || fail "README.md opens with apt-get"
echo "ok: ${#USER_DOCS[@]} user documents stand alone; the README opens with the install on an existing server"
