#!/bin/bash
# test/real/fetch.sh - the real datasets of `make report-real` (docs/real-report.md):
# copies the CARSKit archives into build/real/raw, checks them against the
# SHA-256 sums committed in test/real/SHA256SUMS, and prepares the tables
# the report reads (test/real/prepare.py -> build/real/*.tsv).
#
# Where the archives come from, first match wins:
#   1. XD_REAL_RAW=<dir> holding Travel_TripAdvisor_v2.zip, Music_InCarMusic.zip
#      and Travel_STS.zip
#      (downloaded by hand from https://github.com/irecsys/CARSKit,
#      folder context-aware_data_sets/);
#   2. XD_CARSKIT_GIT=<bare git dir of irecsys/CARSKit> (a clone or mirror), read
#      with `git show HEAD:context-aware_data_sets/<file>`;
#      default /work/.mirror/irecsys+CARSKit/repo.
# The data are never committed (licences: the datasets' authors' terms; see
# docs/real-report.md). Frappe and MovieLens-100K are held out for acceptance:
# this script never touches them (Mobile_Frappe.zip sits in the same folder).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/real
raw=$out/raw
mkdir -p "$raw"
git_dir=${XD_CARSKIT_GIT:-/work/.mirror/irecsys+CARSKit/repo}
for f in Travel_TripAdvisor_v2.zip Music_InCarMusic.zip Travel_STS.zip; do
	if [ -n "${XD_REAL_RAW:-}" ]; then
		cp "$XD_REAL_RAW/$f" "$raw/$f"
	elif [ -d "$git_dir" ]; then
		git --git-dir="$git_dir" show "HEAD:context-aware_data_sets/$f" > "$raw/$f"
	else
		echo "fetch.sh: no source for $f: set XD_REAL_RAW or XD_CARSKIT_GIT (see the header)" >&2
		exit 1
	fi
done
(cd "$raw" && sha256sum --check --strict "$OLDPWD/test/real/SHA256SUMS")
python3 test/real/prepare.py "$raw" "$out"
