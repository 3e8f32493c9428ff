#!/usr/bin/env bash
# options_docs.sh - docs/sql-reference.md's table of model options says what
# the table of options (src/pg/data/options.c) does: the same options in the
# same order, each row's values beginning with what the option takes and its
# default the one training uses (read back through
# xdrec_internal.options()). xdrec.help('options') and the did-you-mean hint
# are made from that table, so they cannot disagree with it.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DB=xd_options_docs
it_databases "$DB"
it_workdir options_docs
trap it_cleanup EXIT
createdb "$DB"
q -c "CREATE EXTENSION xdrec"

# name|values|default, from the codec
q -F '|' -c 'SELECT name, "values", "default" FROM xdrec_internal.options()' >"$WORK/codec"
# the rows of the reference's table ("| `key` | values | default |"),
# backquotes dropped: they only set the JSON in code type
awk -F'|' '/^  \| `[a-z_]+` \|/ {
		gsub(/`/, "")
		for (i = 2; i <= 4; i++) gsub(/^ +| +$/, "", $i)
		print $2 "|" $3 "|" $4
	}' "$ROOT/docs/sql-reference.md" >"$WORK/docs"

[ "$(cut -d'|' -f1 "$WORK/codec")" = "$(cut -d'|' -f1 "$WORK/docs")" ] ||
	fail "the reference's options are not the table's, in its order: $(diff <(cut -d'|' -f1 "$WORK/codec") <(cut -d'|' -f1 "$WORK/docs") | tr '\n' ' ')"
n=0
while IFS='|' read -r name values def; do
	IFS='|' read -r dname dvalues ddef <&3
	case "$dvalues" in
	"$values"*) ;;
	*) fail "option $name: the reference says \"$dvalues\", the table takes \"$values\"" ;;
	esac
	[ "$ddef" = "$def" ] || fail "option $name: the reference's default is \"$ddef\", training's \"$def\""
	n=$((n + 1))
done <"$WORK/codec" 3<"$WORK/docs"

# help lists every option with what it takes and its default
help=$(q -c "SELECT xdrec.help('options')")
while IFS='|' read -r name values def; do
	line=$(grep -E "^  $name " <<<"$help" || true)
	[[ "$line" == *"($values; default $def)" ]] ||
		fail "xdrec.help('options') does not show $name with its values and default $def: $line"
done <"$WORK/codec"
echo "ok: the reference's $n options, their values and defaults are the table's; help shows them"
