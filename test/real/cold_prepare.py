#!/usr/bin/env python3
"""test/real/cold_prepare.py ZIP|CSV OUT - DePaulMovie, the Tijuana
restaurants (a ZIP: which one, its contents) or MovieLens's ml-latest-small
ratings (a CSV) as one implicit domain.

DePaulMovie: every rating is an interaction (the user chose to watch and rate the movie
in that context), in the file's order, which is the arrival order the cold
protocol takes a user's first K from (the data carry no timestamps). The
table has the layout test/bench/report_cold.c reads:

  #xdrec-real name=depaulmovie feedback=implicit source=all
  domain  user  item  rating  <name:scope:kind:n_values>...

Features (interaction-scoped, kind I): Time (weekday/weekend), Location
(home/cinema), Companion (alone/partner/family); integer codes by
descending frequency, -1 missing ("NA"); n_values counts the "other" slot.
Tijuana restaurants (the survey's sheet Q8.xlsx: each user rated
restaurants in up to six situations): every rating is an interaction, in
the sheet's order (user by user, restaurant by restaurant, the situations in
turn: the order the survey asked them; no timestamps), the restaurant's name
trimmed and lowercased as its key; one feature, the situation (1-6).

MovieLens ml-latest-small (ratings.csv: userId,movieId,rating,timestamp;
the header line is skipped whatever its names, every other line must be
four fields): a rating of 4 or more is an interaction (the user liked the
movie; lower ratings are left out), then only the movies liked by at least
MIN_ITEM_USERS users are kept (one pass over the whole file; the long tail
of movies liked once or twice carries no co-occurrence and would pass the
cold probe's item bound), each user's rows in timestamp order (ties: the
movie id), the arrival order the cold protocol takes a user's first K
from. Two features from the timestamp (UTC: the data carry no time zone):
Daypart, the hour in quarters of the day (0-5 night, 6-11 morning, 12-17
afternoon, 18-23 evening: codes 0-3), and Week (0 Monday to Friday,
1 Saturday and Sunday).

Python's standard library only (the .xlsx is read as its XML).
"""
import csv
import datetime
import io
import re
import sys
import zipfile
import xml.etree.ElementTree as ET
from collections import Counter

MIN_RATING = 4.0
MIN_ITEM_USERS = 5
XLSX = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def xlsx_rows(data):
    """The first sheet of an .xlsx as a list of {column letter: text}."""
    with zipfile.ZipFile(io.BytesIO(data)) as x:
        shared = []
        if "xl/sharedStrings.xml" in x.namelist():
            for si in ET.fromstring(x.read("xl/sharedStrings.xml")).iter(XLSX + "si"):
                shared.append("".join(t.text or "" for t in si.iter(XLSX + "t")))
        rows = []
        for r in ET.fromstring(x.read("xl/worksheets/sheet1.xml")).iter(XLSX + "row"):
            row = {}
            for c in r.iter(XLSX + "c"):
                v = c.find(XLSX + "v")
                if v is None:
                    continue
                text = shared[int(v.text)] if c.get("t") == "s" else v.text
                row[re.match(r"[A-Z]+", c.get("r")).group(0)] = text
            rows.append(row)
        return rows


def write(out, name, feats, rows):
    """rows: (user, item, rating, [code per feature]); feats: (name, n_values)."""
    with open(out, "w", newline="") as fh:
        fh.write(f"#xdrec-real name={name} feedback=implicit source=all\n")
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["domain", "user", "item", "rating"] +
                   [f"{f}:interaction:I:{n}" for f, n in feats])
        for u, i, r, codes in rows:
            w.writerow(["all", u, i, r] + codes)
    print(f"{out}: {len(rows)} rows")


def tijuana(zf, out):
    name = [n for n in zf.namelist() if n.endswith("/Q8.xlsx")][0]
    rows = []
    for r in xlsx_rows(zf.read(name)):
        u, item, ctx, rating = (r.get(k, "").strip() for k in "ABCD")
        if not (u.isdigit() and ctx.isdigit() and rating and item):
            continue            # the title and header rows, unrated cells
        rows.append((u, item.lower(), rating, [int(ctx) - 1]))
    write(out, "tijuana", [("Situation", 7)], rows)


def movielens(path, out):
    liked = []
    with open(path, newline="") as fh:
        r = csv.reader(fh)
        next(r, None)           # the header, whatever its names
        for n, row in enumerate(r, start=2):
            if len(row) != 4:
                sys.exit(f"{path}:{n}: {len(row)} fields, expected 4 (user, movie, rating, timestamp)")
            try:
                u, i, rating, ts = int(row[0]), int(row[1]), float(row[2]), int(row[3])
            except ValueError:
                sys.exit(f"{path}:{n}: not a rating row: {row}")
            if rating >= MIN_RATING:
                liked.append((u, ts, i, row[2]))
    users_of = Counter(i for _, i in {(u, i) for u, _, i, _ in liked})
    rows = []
    for u, ts, i, rating in sorted(liked):
        if users_of[i] < MIN_ITEM_USERS:
            continue
        t = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
        rows.append((str(u), str(i), rating, [t.hour // 6, int(t.weekday() >= 5)]))
    write(out, "ml-latest-small", [("Daypart", 5), ("Week", 3)], rows)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    if sys.argv[1].endswith(".csv"):
        return movielens(sys.argv[1], sys.argv[2])
    with zipfile.ZipFile(sys.argv[1]) as zf:
        if any(n.endswith("/Q8.xlsx") for n in zf.namelist()):
            return tijuana(zf, sys.argv[2])
        name = [n for n in zf.namelist() if n.endswith("ratings.txt")][0]
        rows = list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"))))
    feats = ["Time", "Location", "Companion"]
    vocab = {}
    for f in feats:
        counts = Counter(r[f] for r in rows if r[f] not in ("", "NA"))
        vocab[f] = {v: i for i, v in enumerate(sorted(counts, key=lambda v: (-counts[v], v)))}
    write(sys.argv[2], "depaulmovie", [(f, len(vocab[f]) + 1) for f in feats],
          [(r["userid"], r["itemid"], r["rating"], [vocab[f].get(r[f], -1) for f in feats])
           for r in rows])


if __name__ == "__main__":
    main()
