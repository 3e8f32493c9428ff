#!/bin/bash
# test/real/cold_data.sh - the public real datasets of `make report-cold`
# (docs/cold-report.md): DePaulMovie and the Tijuana restaurants from the
# CARSKit collection, each checked against its SHA-256 sum, prepared into
# build/real/depaulmovie.tsv and build/real/tijuana.tsv by
# test/real/cold_prepare.py.
#
# Why these: cold-start needs users with more than 20 interactions (K up to
# 20 plus queries). Users with at least 25 rows: DePaulMovie 77 of 97, the
# Tijuana restaurants (Q8.xlsx) 20 of 50, STS 9 of 325, TripAdvisor v2 3 of
# 2371 (at most 35 rows), TripAdvisor v1 about 4 rows per user (its ReadMe:
# 4669 ratings by 1202 users), the Japanese
# restaurants 8 users whose rows name no restaurant, InCarMusic 42 users.
# Frappe and MovieLens-100K are held out: never touched here.
#
# Where the archives come from, first match wins: XD_REAL_RAW=<dir> holding
# them (downloaded by hand from the CARSKit repository, folder
# context-aware_data_sets/), or XD_CARSKIT_GIT=<bare git dir of
# irecsys/CARSKit>, default /work/.mirror/irecsys+CARSKit/repo. The data are
# never committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/real
raw=$out/raw
mkdir -p "$raw"
git_dir=${XD_CARSKIT_GIT:-/work/.mirror/irecsys+CARSKit/repo}
get() {
	local f=$1 sum=$2 out_name=$3
	if [ -n "${XD_REAL_RAW:-}" ]; then
		cp "$XD_REAL_RAW/$f" "$raw/$f"
	elif [ -d "$git_dir" ]; then
		git --git-dir="$git_dir" show "HEAD:context-aware_data_sets/$f" > "$raw/$f"
	else
		echo "cold_data.sh: no source for $f: set XD_REAL_RAW or XD_CARSKIT_GIT (see the header)" >&2
		exit 1
	fi
	echo "$sum  $f" > "$raw/cold.sha256"
	(cd "$raw" && sha256sum --check --strict cold.sha256)
	python3 test/real/cold_prepare.py "$raw/$f" "$out/$out_name"
}
get Movie_DePaulMovie.zip 6a7e7076b5de98fb7fd734fe817c97126262bf1a35267f5aca601b83a9abfbe3 depaulmovie.tsv
get Restaurant_TijuanaRestaurant.zip 0a66d9d54dc9b48a40e1ebda3333fde515e5ef4df01e2b956b6cead0de58bbae tijuana.tsv
bash test/real/movielens_data.sh
