#!/bin/bash
# test/real/cold_data.sh - the public real dataset of `make report-cold`
# (docs/cold-report.md): DePaulMovie from the CARSKit collection, checked
# against its SHA-256 sum, prepared into build/real/depaulmovie.tsv by
# test/real/cold_prepare.py.
#
# Why this one: cold-start needs users with more than 20 interactions (K up
# to 20 plus queries); TripAdvisor v2 (at most 16 per user) and InCarMusic
# (42 users) have too few. Frappe and MovieLens-100K are held out: never
# touched here.
#
# Where the archive comes from, first match wins: XD_REAL_RAW=<dir> holding
# Movie_DePaulMovie.zip (downloaded by hand from the CARSKit repository,
# folder context-aware_data_sets/), or XD_CARSKIT_GIT=<bare git dir of
# irecsys/CARSKit>, default /work/.mirror/irecsys+CARSKit/repo. The data are
# never committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/real
raw=$out/raw
mkdir -p "$raw"
git_dir=${XD_CARSKIT_GIT:-/work/.mirror/irecsys+CARSKit/repo}
f=Movie_DePaulMovie.zip
if [ -n "${XD_REAL_RAW:-}" ]; then
	cp "$XD_REAL_RAW/$f" "$raw/$f"
elif [ -d "$git_dir" ]; then
	git --git-dir="$git_dir" show "HEAD:context-aware_data_sets/$f" > "$raw/$f"
else
	echo "cold_data.sh: no source for $f: set XD_REAL_RAW or XD_CARSKIT_GIT (see the header)" >&2
	exit 1
fi
echo "6a7e7076b5de98fb7fd734fe817c97126262bf1a35267f5aca601b83a9abfbe3  $f" > "$raw/cold.sha256"
(cd "$raw" && sha256sum --check --strict cold.sha256)
python3 test/real/cold_prepare.py "$raw/$f" "$out/depaulmovie.tsv"
