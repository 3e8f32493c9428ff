#!/usr/bin/env bash
# report_fewshot_smoke.sh - a tiny run of build/bench/report_fewshot (quick
# mode, one target a world, two seed sets; about half a minute of CPU) that
# checks the report's goals table at N = 64 (paired difference per seed set)
# and that a seed set run inside the average is the same as that set run
# alone with --first-seed (the same supports, seeds and meta-training).
#   make build/bench/report_fewshot && bash test/bench/report_fewshot_smoke.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=build/bench/report_fewshot
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/avg/img" "$tmp/one/img"

"$bin" "$tmp/avg" quick --targets 1 --seed-sets 2 2>"$tmp/avg.log"
"$bin" "$tmp/one" quick --targets 1 --seed-sets 1 --first-seed 2 2>"$tmp/one.log"

fail() { echo "FAIL: $*"; exit 1; }
report="$tmp/avg/fewshot-report.md"
grep -q '^## Goals at N = 64$' "$report" || fail "no goals table"
grep -q 'seed sets S = 0, 2 ' "$report" || fail "header does not name the seed sets"
grep -q 'not below it \*beyond noise\*' "$report" || fail "header does not state the noise rule"
line=$(grep '^| fewshot not below the better heuristic' "$report") || fail "no heuristic line"
for want in 'S = 0: [+-]0\.[0-9]' 'S = 2: [+-]0\.[0-9]' '\*\*\(met\|missed\|met, within noise\)\*\*' '(4 runs;'; do
	grep -q -- "$want" <<<"$line" || fail "heuristic line lacks '$want' (for each of 2 worlds): $line"
done
grep -q '^| fewshot ≥ 1.10 × the best of DRR and target-only |.*×, \*\*' "$report" || fail "no 10% line"
grep -q '^| adaptation ≤ 0.1 × DRR.s time |.*×, \*\*' "$report" || fail "no time line"
# set S = 2 inside the average = S = 2 alone (times aside)
strip() { grep -E 'seed [23]:' "$1" | sed -E 's/in [0-9.]+ s/in T s/g'; }
[ "$(strip "$tmp/avg.log" | wc -l)" -gt 0 ] || fail "no runs of seed set 2"
diff <(strip "$tmp/avg.log") <(strip "$tmp/one.log") >/dev/null ||
	fail "seed set 2 inside the average differs from --first-seed 2 alone"
echo "report_fewshot smoke: 1 passed, 0 failed"
