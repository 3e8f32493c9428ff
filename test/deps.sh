#!/usr/bin/env bash
# test/deps.sh - the PostgreSQL layer's files depend on each other without a
# circle (docs/CONTRIBUTING.md, "Dependencies between files"): a reader who
# follows one interaction moves forward through the files, never back.
#
# File A depends on file B when A's object uses a symbol B's object defines
# (nm: exact, comments and macros cannot fool it). Any edge A -> B where B
# also reaches A is part of a circle: each is printed with the symbols that
# make it, and the script fails. The folders are layers too, each using only
# those before it in LAYERS (src/pg/xdrec.c is "top", the GUCs): an edge from
# a folder to a later one fails the same way. `make deps` builds the objects
# and runs it; `test/deps.sh --graph` prints every edge instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# docs/architecture.md's reading order: a file may use its own folder and
# the folders before it
LAYERS="top data store serve run jobs fn"

shopt -s nullglob
objs=(src/pg/*.o src/pg/*/*.o)
if [ ${#objs[@]} -eq 0 ]; then
	echo "deps: no objects under src/pg; run make first" >&2
	exit 2
fi
for o in "${objs[@]}"; do
	if [ "${o%.o}.c" -nt "$o" ]; then
		echo "deps: $o is older than its source; run make first" >&2
		exit 2
	fi
done

# "D file symbol" for every global a file defines, "U file symbol" for every
# one it uses; awk joins them into edges and closes them transitively.
for o in "${objs[@]}"; do
	nm -g --defined-only "$o" | awk -v f="${o%.o}.c" 'NF == 3 { print "D", f, $3 }'
	nm -u "$o" | awk -v f="${o%.o}.c" '{ print "U", f, $NF }'
done | awk -v graph="${1:-}" -v layers="$LAYERS" '
	function layer(f,    p) {
		n_p = split(f, p, "/")
		return n_p == 3 ? rank["top"] : (p[3] in rank ? rank[p[3]] : -1)
	}
	BEGIN { n_l = split(layers, l, " "); for (i = 1; i <= n_l; i++) rank[l[i]] = i }
	$1 == "D" { def[$3] = $2; files[$2] = 1; next }
	{ use[++n] = $2 SUBSEP $3 }
	END {
		for (i = 1; i <= n; i++) {
			split(use[i], p, SUBSEP)
			to = def[p[2]]
			if (to == "" || to == p[1]) continue
			key = p[1] SUBSEP to
			if (!(key in edge)) edge[key] = p[2]
			else if (index(" " edge[key] " ", " " p[2] " ") == 0) edge[key] = edge[key] " " p[2]
			reach[key] = 1
		}
		if (graph == "--graph") {
			for (key in edge) { split(key, e, SUBSEP); print e[1] " -> " e[2] ": " edge[key] | "sort" }
			exit 0
		}
		# Warshall: reach[a, b] when a depends on b through any chain
		for (k in files) for (a in files) if ((a, k) in reach)
			for (b in files) if ((k, b) in reach) reach[a, b] = 1
		bad = 0
		for (f in files)
			if (layer(f) < 0) {
				print "layer: " f " is in no folder of LAYERS (test/deps.sh)" | "sort"
				bad = 1
			}
		for (key in edge) {
			split(key, e, SUBSEP)
			if (layer(e[2]) > layer(e[1])) {
				print "layer: " e[1] " -> " e[2] " (" edge[key] ") uses a later folder" | "sort"
				bad = 1
			}
			if ((e[2], e[1]) in reach) {
				print "circle: " e[1] " -> " e[2] " (" edge[key] ")" | "sort"
				bad = 1
			}
		}
		close("sort")
		if (bad) { print "deps: the dependencies above go backwards (docs/CONTRIBUTING.md)"; exit 1 }
		n_edges = 0; for (key in edge) n_edges++
		n_files = 0; for (f in files) n_files++
		print "deps: " n_files " files, " n_edges " dependencies, no circle, folders in order (" layers ")"
	}'
