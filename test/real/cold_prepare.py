#!/usr/bin/env python3
"""test/real/cold_prepare.py ZIP OUT - DePaulMovie as one implicit domain.

Every rating is an interaction (the user chose to watch and rate the movie
in that context), in the file's order, which is the arrival order the cold
protocol takes a user's first K from (the data carry no timestamps). The
table has the layout test/bench/report_cold.c reads:

  #xdrec-real name=depaulmovie feedback=implicit source=all
  domain  user  item  rating  <name:scope:kind:n_values>...

Features (interaction-scoped, kind I): Time (weekday/weekend), Location
(home/cinema), Companion (alone/partner/family); integer codes by
descending frequency, -1 missing ("NA"); n_values counts the "other" slot.
Python's standard library only.
"""
import csv
import io
import sys
import zipfile
from collections import Counter


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with zipfile.ZipFile(sys.argv[1]) as zf:
        name = [n for n in zf.namelist() if n.endswith("ratings.txt")][0]
        rows = list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"))))
    feats = ["Time", "Location", "Companion"]
    vocab = {}
    for f in feats:
        counts = Counter(r[f] for r in rows if r[f] not in ("", "NA"))
        vocab[f] = {v: i for i, v in enumerate(sorted(counts, key=lambda v: (-counts[v], v)))}
    with open(sys.argv[2], "w", newline="") as fh:
        fh.write("#xdrec-real name=depaulmovie feedback=implicit source=all\n")
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["domain", "user", "item", "rating"] +
                   [f"{f}:interaction:I:{len(vocab[f]) + 1}" for f in feats])
        for r in rows:
            w.writerow(["all", r["userid"], r["itemid"], r["rating"]] +
                       [vocab[f].get(r[f], -1) for f in feats])
    print(f"{sys.argv[2]}: {len(rows)} rows")


if __name__ == "__main__":
    main()
