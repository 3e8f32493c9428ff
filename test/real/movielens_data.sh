#!/bin/bash
# test/real/movielens_data.sh - the larger real table of `make report-cold`
# (docs/cold-start.md, A larger real table: MovieLens ml-latest-small):
# MovieLens's ml-latest-small ratings (GroupLens, 2018: 100,836 ratings by
# 610 users), checked against the SHA-256 sum of its rating rows below,
# prepared into build/real/ml-latest-small.tsv by test/real/cold_prepare.py.
# Called by test/real/cold_data.sh; XD_REAL_OUT=<dir> writes there instead
# of build/real (test/integration/cold_prepare.sh).
#
# Why not MovieLens-1M: its ratings.dat (24.6 MB) is past the 4 MiB a
# repository snapshot here carries, in every copy found; ml-latest-small's
# ratings.csv (2.4 MB) is not. MovieLens-100K (ml-100k, u.data: 943 users,
# 1996-98) is held out for acceptance and never touched here;
# ml-latest-small is another sample (610 other users, 1996-2018).
#
# Where ratings.csv comes from, first match wins: XD_ML_RAW=<dir> holding
# it (ml-latest-small.zip from GroupLens, unzipped by hand), or
# XD_ML_GIT=<bare git dir of a repository holding ml-latest-small/ratings.csv>,
# default /work/.mirror/Muellersen+Recommender-Systems/repo (commit
# e08f23294961f0b64ddca5a6128f25ad20885f98; that copy renames the header's
# movieId to Id, so the sum is over the rating rows alone, the header
# skipped and line ends taken as LF: the GroupLens file and that copy sum
# alike). The data are never committed: GroupLens's licence allows
# research use and redistribution under its own terms only, with no
# endorsement implied; this repository ships neither the ratings nor
# anything derived from them.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${XD_REAL_OUT:-build/real}
raw=$out/raw
mkdir -p "$raw"
rows_sum=dba9015483eb8ef2dafcb49511e6ae8ab42eb450901dbc870d2d22546f016ad8
git_dir=${XD_ML_GIT:-/work/.mirror/Muellersen+Recommender-Systems/repo}
f=$raw/ml-latest-small-ratings.csv
if [ -n "${XD_ML_RAW:-}" ]; then
	cp "$XD_ML_RAW/ratings.csv" "$f"
elif [ -d "$git_dir" ]; then
	git --git-dir="$git_dir" show "HEAD:ml-latest-small/ratings.csv" > "$f"
else
	echo "movielens_data.sh: no source for ratings.csv: set XD_ML_RAW or XD_ML_GIT (see the header)" >&2
	exit 1
fi
got=$(tail -n +2 "$f" | tr -d '\r' | sha256sum | cut -d' ' -f1)
if [ "$got" != "$rows_sum" ]; then
	echo "movielens_data.sh: $f: the rating rows' SHA-256 is $got, expected $rows_sum: not the ml-latest-small this report measured" >&2
	exit 1
fi
echo "ml-latest-small ratings.csv: OK"
python3 test/real/cold_prepare.py "$f" "$out/ml-latest-small.tsv"
