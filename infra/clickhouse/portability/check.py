#!/usr/bin/env python3
"""Run SQL statements, in order, in ONE persistent chdb session (modern ClickHouse).

usage: check.py statements.json [--verbose]
statements.json: [{"name": "...", "sql": "..."}, ...]  ("-" reads stdin)

One session (on a throw-away directory) so that migrations create databases and
tables that later statements use. Prints "ok NAME" or "FAIL NAME: error" per
statement, then the engine version; exits 1 if any statement failed.

What chdb (4.4.0 = ClickHouse 26.9) can run was checked: DDL (databases,
*MergeTree incl. AggregatingMergeTree + AggregateFunction(uniq, ...), Null,
MATERIALIZED VIEW ... TO), INSERT, SELECT, OPTIMIZE ... FINAL, ALTER ... DELETE /
UPDATE / DROP PARTITION and SYSTEM FLUSH LOGS / STOP MERGES / DROP MARK CACHE all
work and state persists across statements. Limits:
  * chdb accepts "a; b" in one entry but the 18.16 server (HTTP/native) takes one
    statement per request, so keep one statement per entry;
  * a fresh session per run: nothing survives between runs (the dir is deleted);
  * it is a modern engine, so it rejects what 18.16 accepts but 20.x+ dropped, e.g.
    old-style `ENGINE = MergeTree(date, (key), 8192)` and a JOIN on an un-aliased
    subquery (see infra/README.md for the 18.16 <-> modern table).
"""
import json
import shutil
import sys
import tempfile


def load(path):
    raw = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    items = json.loads(raw)
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("sql"), str) for i in items
    ):
        raise SystemExit('expected a JSON list of {"name": ..., "sql": ...}')
    return items


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    verbose = "--verbose" in argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    items = load(args[0])

    import chdb
    from chdb import session

    workdir = tempfile.mkdtemp(prefix="chdb-portability-")
    failed = 0
    sess = session.Session(workdir)
    try:
        for n, item in enumerate(items, 1):
            name = item.get("name") or f"#{n}"
            sql = item["sql"].strip().rstrip(";")
            try:
                res = sess.query(sql, "TSV")
                # Older chdb returned errors in the result instead of raising.
                err = res.error_message() if hasattr(res, "has_error") and res.has_error() else None
                if err:
                    raise RuntimeError(err)
                print(f"ok {name}")
                out = str(res).rstrip("\n")
                if verbose and out:
                    print("   " + out.replace("\n", "\n   "))
            except Exception as e:  # noqa: BLE001 - any engine error is a FAIL line
                failed += 1
                msg = " ".join(str(e).split())
                print(f"FAIL {name}: {msg}")
        version = str(sess.query("SELECT version()", "TSV")).strip()
    finally:
        sess.close()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"version() = {version} (chdb {getattr(chdb, '__version__', '?')}): "
          f"{len(items) - failed}/{len(items)} statements ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
