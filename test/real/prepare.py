#!/usr/bin/env python3
"""test/real/prepare.py RAW_DIR OUT_DIR - the tables of `make report-real`.

Reads the CARSKit archives that test/real/fetch.sh checked and writes one
tab-separated table per dataset view, which test/bench/report_real.c reads:

  #xdrec-real name=<view> feedback=<implicit|explicit> source=<domain>
  domain  user  item  rating  <feature>...

Feature columns are named name:scope:kind:n_values (scope interaction, user
or item; kind I, H or A as in DESIGN section 2; n_values counts the "other"
slot) and hold integer codes, -1 for missing. Codes are global over all
domains, so every domain encodes a context the same way (the transfer needs
one schema). Python's standard library only.

Views (docs/real-report.md says why these):
  tripadvisor          TripAdvisor v2 hotel reviews, implicit (every review
                       is an interaction); domain: the hotel's US time zone
                       (EASTERN, the largest, is the source); context: the
                       trip type; user: the reviewer's region; item: state.
  tripadvisor_ratings  the same rows with their 1-5 ratings (explicit).
  tripadvisor_states   the same rows, implicit, one domain per hotel state
                       (31, of 46 to 2,363 rows; CA, the largest, is the
                       source): many small markets, for `make report-fewshot`;
                       context: the trip type; user: the reviewer's region;
                       item: the hotel's city.
  incarmusic           InCarMusic ratings 0-5 (explicit); domain: the track's
                       music category (the largest is the source); context:
                       the eight in-car situation factors.
  sts_ratings          South Tyrol Suggests (STS) POI ratings 1-5 (explicit);
                       domain: the POI's category (category1, one per POI;
                       the archive names only its code): 1, the largest
                       (1,248 rows), is the source, 4 (731) a target, and the
                       other 25 categories together ("other", 555 rows, 134
                       POIs) the second target: alone each is too small to
                       test on (category 8, the next, has 174 rows from 170
                       users, so its test users are all cold and excluded);
                       context: the fourteen situation factors; user: gender
                       and decade of birth (filled from the user's other rows
                       where a row leaves them out). Explicit only: the
                       ratings were elicited per imagined situation (702 of
                       the 2,534 rows repeat a user's POI), not chosen.
"""
import csv
import io
import re
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter

MAX_VALUES = 60  # vocabulary cap per feature, before the "other" slot


def vocab(values):
    """Codes by descending frequency (ties by value); missing values excluded."""
    counts = Counter(v for v in values if v is not None)
    order = sorted(counts, key=lambda v: (-counts[v], v))[:MAX_VALUES]
    return {v: i for i, v in enumerate(order)}


def code(voc, v):
    if v is None:
        return -1
    return voc.get(v, len(voc))  # past the cap: the "other" slot


def write_view(path, name, feedback, rows, features):
    """rows: dicts with domain, user, item, rating and the feature names."""
    domains = Counter(r["domain"] for r in rows)
    source = sorted(domains, key=lambda d: (-domains[d], d))[0]
    vocs = {f: vocab(r[f] for r in rows) for f, _, _ in features}
    with open(path, "w", newline="") as fh:
        fh.write(f"#xdrec-real name={name} feedback={feedback} source={source}\n")
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["domain", "user", "item", "rating"] +
                   [f"{f}:{scope}:{kind}:{len(vocs[f]) + 1}" for f, scope, kind in features])
        for r in rows:
            w.writerow([r["domain"], r["user"], r["item"], r["rating"]] +
                       [code(vocs[f], r[f]) for f, _, _ in features])
    print(f"{path}: {len(rows)} rows, source {source} ({domains[source]}), targets " +
          ", ".join(f"{d} ({n})" for d, n in domains.most_common() if d != source))


def member(zf, suffix):
    names = [n for n in zf.namelist() if n.endswith(suffix)]
    if len(names) != 1:
        sys.exit(f"prepare.py: expected one {suffix} in the archive, found {names}")
    return zf.read(names[0])


def tripadvisor(raw, out):
    with zipfile.ZipFile(f"{raw}/Travel_TripAdvisor_v2.zip") as zf:
        text = member(zf, "Data_TripAdvisor_v2.csv").decode("utf-8")
    rows = []
    for r in csv.DictReader(io.StringIO(text)):
        rows.append({
            "domain": r["ItemTimeZone"], "user": r["UserID"], "item": r["ItemID"],
            "rating": r["Rating"],
            "trip_type": r["TripType"] or None,
            "user_region": r["UserTimeZone"] or None,
            "item_state": r["ItemState"] or None,
        })
    features = [("trip_type", "interaction", "I"), ("user_region", "user", "A"),
                ("item_state", "item", "A")]
    write_view(f"{out}/tripadvisor.tsv", "tripadvisor", "implicit", rows, features)
    write_view(f"{out}/tripadvisor_ratings.tsv", "tripadvisor_ratings", "explicit",
               rows, features)


def tripadvisor_states(raw, out):
    with zipfile.ZipFile(f"{raw}/Travel_TripAdvisor_v2.zip") as zf:
        text = member(zf, "Data_TripAdvisor_v2.csv").decode("utf-8")
    rows = [{"domain": r["ItemState"], "user": r["UserID"], "item": r["ItemID"],
             "rating": r["Rating"], "trip_type": r["TripType"] or None,
             "user_region": r["UserTimeZone"] or None, "item_city": r["ItemCity"] or None}
            for r in csv.DictReader(io.StringIO(text))]
    write_view(f"{out}/tripadvisor_states.tsv", "tripadvisor_states", "implicit", rows,
               [("trip_type", "interaction", "I"), ("user_region", "user", "A"),
                ("item_city", "item", "A")])


def xlsx_sheets(data):
    """Every sheet of an .xlsx as a list of rows ({column letter: text})."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    zf = zipfile.ZipFile(io.BytesIO(data))
    shared = ["".join(si.itertext()) for si in
              ET.fromstring(zf.read("xl/sharedStrings.xml")).findall("m:si", ns)]
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"',
                           zf.read("xl/_rels/workbook.xml.rels").decode()))
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    sheets = {}
    for sh in wb.iter(f"{{{ns['m']}}}sheet"):
        rows = []
        for row in ET.fromstring(zf.read("xl/" + rels[sh.get(rid)])).iter(f"{{{ns['m']}}}row"):
            cells = {}
            for c in row.findall("m:c", ns):
                v = c.find("m:v", ns)
                col = re.match(r"[A-Z]+", c.get("r")).group(0)
                cells[col] = None if v is None else (
                    shared[int(v.text)] if c.get("t") == "s" else v.text)
            rows.append(cells)
        sheets[sh.get("name")] = rows
    return sheets


def incarmusic(raw, out):
    with zipfile.ZipFile(f"{raw}/Music_InCarMusic.zip") as zf:
        sheets = xlsx_sheets(member(zf, "Data_InCarMusic.xlsx"))
    categories = {r["A"]: r["B"] for r in sheets["Music Category"]}
    track_category = {r["A"]: categories[r["H"]] for r in sheets["Music Track"][1:]}
    ratings = sheets["ContextualRating"]
    header = [ratings[0][c].strip() for c in "ABCDEFGHIJK"]
    factors = header[3:]
    rows = []
    for r in ratings[1:]:
        item = r["B"]
        row = {"domain": track_category[item].replace(" music", "").replace(" ", "_"),
               "user": r["A"], "item": item, "rating": r["C"]}
        for col, f in zip("DEFGHIJK", factors):
            v = r.get(col)
            row[f] = None if v in (None, "NA", "") else v
        rows.append(row)
    write_view(f"{out}/incarmusic.tsv", "incarmusic", "explicit", rows,
               [(f, "interaction", "I") for f in factors])


STS_DOMAINS = ("1", "4")  # categories that are domains alone; the rest is "other"
STS_CONTEXT = ["distance", "timeAvailable", "temperature", "crowdedness",
               "knowledgeOfSurroundings", "season", "budget", "daytime", "weather",
               "companion", "mood", "weekday", "travelGoal", "transport"]


def sts(raw, out):
    with zipfile.ZipFile(f"{raw}/Travel_STS.zip") as zf:
        text = member(zf, "Data_STS.csv").decode("utf-8")
    data = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    known = lambda v: None if v in (None, "", "NULL") else v
    # user attributes: a row often leaves out what another row of the user says
    gender, birth = {}, {}
    for r in data:
        if known(r["gender"]):
            gender[r["userID"]] = r["gender"]
        if known(r["birthDate"]):
            birth[r["userID"]] = r["birthDate"][-4:-1] + "0s"  # dd/MM/yyyy -> decade
    rows = []
    for r in data:
        category = r["category1"]
        row = {"domain": "cat" + category if category in STS_DOMAINS else "other",
               "user": r["userID"], "item": r["itemID"], "rating": r["rating"],
               "gender": gender.get(r["userID"]), "birth_decade": birth.get(r["userID"])}
        for f in STS_CONTEXT:
            row[f] = known(r[f])
        rows.append(row)
    write_view(f"{out}/sts_ratings.tsv", "sts_ratings", "explicit", rows,
               [(f, "interaction", "I") for f in STS_CONTEXT] +
               [("gender", "user", "A"), ("birth_decade", "user", "A")])


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    raw, out = sys.argv[1], sys.argv[2]
    tripadvisor(raw, out)
    tripadvisor_states(raw, out)
    incarmusic(raw, out)
    sts(raw, out)


if __name__ == "__main__":
    main()
