#!/usr/bin/env bash
# tutorial.sh - docs/tutorial.md runs as written: every ```sql block, in
# order, in one session on a fresh database, and the ```text block after each
# must be what it prints. An error is allowed only in a block that says
# "-- refused". The outputs were written on one OpenBLAS kernel (the doc
# names its build); on another, training takes another path, so scores
# differ and close items may swap places: numbers, the method auto keeps
# (and the column widths they set) are then left out of the comparison, and
# the rest (columns, rows, words, errors) must still be the doc's.
# XD_TUTORIAL_WRITE=1 rewrites the outputs in the doc instead of comparing.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DOC=$ROOT/docs/tutorial.md
DB=xd_tutorial
it_databases "$DB"
it_workdir tutorial
createdb "$DB"

# the blocks, each followed by a marker line
python3 - "$DOC" "$WORK/run.sql" <<'PY'
import re, sys
doc = open(sys.argv[1]).read()
blocks = re.findall(r"```sql\n(.*?)```", doc, re.S)
with open(sys.argv[2], "w") as out:
    for i, b in enumerate(blocks):
        out.write(b + "\\echo @@end-of-block@@\n")
PY
psql -X -q -d "$DB" <"$WORK/run.sql" >"$WORK/run.out" 2>&1 || true
build=$(DB=$DB q -c "SELECT xdrec.blas_selfcheck() ->> 'config'" 2>/dev/null || echo unknown)

python3 - "$DOC" "$WORK/run.out" "$build" "${XD_TUTORIAL_WRITE:-0}" <<'PY'
import re, sys
doc_path, out_path, build, write = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
doc = open(doc_path).read()
outs = open(out_path).read().split("@@end-of-block@@\n")
pieces = re.split(r"(```sql\n.*?```\n)", doc, flags=re.S)
blocks = [p for p in pieces if p.startswith("```sql\n")]
if len(outs) - 1 != len(blocks):
    sys.exit(f"FAIL: {len(blocks)} sql blocks but {len(outs) - 1} ran to their end:\n{outs[-1]}")
failed = []
new = []
bi = 0
# another build: every number is N, every sparkline S, every method name
# M (auto keeps the candidate that validates best, and candidates that
# validate close swap places with the scores), runs of dashes and blanks
# (widths) one
def mask(t):
    t = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", t)
    t = re.sub(r"\b(drr|anneal|direct|target_only|fewshot|popularity|blend)\b", "M", t)
    t = re.sub("[\u2581-\u2588]+", "S", t)
    return re.sub(r" +", " ", re.sub(r"-+", "-", t))
stamp = re.search(r"<!-- outputs: (.*?) -->", doc)
same_build = stamp is not None and stamp.group(1) == build
for i, p in enumerate(pieces):
    if not p.startswith("```sql\n"):
        # the output block that follows a sql block is replaced below
        if i > 0 and pieces[i - 1].startswith("```sql\n"):
            p = re.sub(r"\A\n?```text\n.*?```\n", "", p, flags=re.S)
        new.append(p)
        continue
    got = outs[bi]
    sql = p[len("```sql\n"):-4]
    if "ERROR:" in got and "-- refused" not in sql:
        failed.append(f"block {bi + 1} failed:\n{sql}\n{got}")
    if "-- refused" in sql and "ERROR:" not in got:
        failed.append(f"block {bi + 1} should be refused but was not:\n{sql}\n{got}")
    m = re.match(r"\A\n?```text\n(.*?)```\n", pieces[i + 1] if i + 1 < len(pieces) else "", re.S)
    had = m.group(1) if m else None
    if not write:
        if had is None and got:
            failed.append(f"block {bi + 1} has no output in the doc; it prints:\n{got}")
        elif had is not None and ((had != got) if same_build else (mask(had) != mask(got))):
            failed.append(f"block {bi + 1} prints otherwise than the doc says:\n{sql}\n--- doc\n{had}--- now\n{got}")
    new.append(p + ("\n```text\n" + got + "```\n" if got else ""))
    bi += 1
text = "".join(new)
text = re.sub(r"\n<!-- outputs: .*? -->\n", "", text)
text = text.replace("\n## 1. Install", f"\n<!-- outputs: {build} -->\n\n## 1. Install", 1)
if write:
    open(doc_path, "w").write(text)
    print(f"wrote the outputs of {bi} blocks into {doc_path}")
for f in failed:
    print("FAIL:", f)
if failed:
    sys.exit(1)
if not write:
    print(f"{bi} blocks of docs/tutorial.md print what the doc says" + ("" if same_build else " (numbers not compared: another OpenBLAS build)"))
PY
echo "ok: the tutorial runs as written"
