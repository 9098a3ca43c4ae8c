"""EXPLAIN the SQL behind each Entra request kind, on a database a bench run kept.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \\
        python -m bench.entra_cycle --users 10000 --keep-db
    python -m bench.explain --database-url postgresql://postgres@127.0.0.1:5432/herd_bench

It drives the real Flask app (test client, no HTTP) against that database,
records every statement each request sends, and shows the plan of each SELECT:
``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite.
Writes (POST, PATCH) really happen, on learners it makes for the purpose.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid

from sqlalchemy import event, select, text

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
DEAD_REDIS = "redis://127.0.0.1:1/0"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.explain", description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", required=True, help="the bench database (herd_bench), not the test database")
    p.add_argument("--company", type=int, help="company id (default: the one with most learners)")
    p.add_argument("--analyze", action="store_true", help="run ANALYZE learners first (fresh planner statistics)")
    p.add_argument("--verbose", action="store_true", help="print every statement and its full plan")
    args = p.parse_args(argv)

    from config import Settings
    from models import AccessToken, Learner
    from service import create_app

    settings = Settings.from_env(
        env={}, database_url=args.database_url, redis_url=DEAD_REDIS,
        public_base_url="http://bench.invalid", secret_key="herd-bench",
    )  # fmt: skip
    app = create_app(settings)
    engine = app.extensions["herd.engine"]
    dialect = engine.dialect.name
    sessions = app.extensions["herd.sessions"]

    with sessions() as s:
        if args.company is None:
            from sqlalchemy import func

            args.company = s.execute(
                select(Learner.company_id).group_by(Learner.company_id).order_by(func.count().desc()).limit(1)
            ).scalar()
        learner = s.scalars(
            select(Learner).where(Learner.company_id == args.company, Learner.deleted_at.is_(None)).limit(1)
        ).first()
        count = s.scalar(text("SELECT count(*) FROM learners WHERE company_id = :c"), {"c": args.company})
        row, secret = AccessToken.issue(args.company, "bench explain")
        s.add(row)
        s.commit()
        if args.analyze:
            s.execute(text("ANALYZE learners" if dialect == "postgresql" else "ANALYZE"))
            s.commit()
    if learner is None:
        raise SystemExit(f"company {args.company} has no learners: run bench.entra_cycle with --keep-db first")
    print(f"{dialect}: company {args.company}, {count} learners; sample {learner.user_name}")

    captured = []
    capturing = [False]

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany):
        if capturing[0]:
            captured.append((statement, parameters))

    client = app.test_client()
    base = f"/scim/v2/{args.company}"
    headers = {"Authorization": f"Bearer {secret}"}
    new = f"explain.{uuid.uuid4().hex[:8]}@acme.example"
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": new, "externalId": new.split("@")[0], "active": True, "displayName": "Ex Plain",
        "emails": [{"primary": True, "type": "work", "value": "w." + new}],
        CUSTOM: {"state": "California", "country": "US", "learnerRole": "supervisor", "training_tags": "CYBER"},
    }  # fmt: skip
    work_email = learner.email_lower or ""
    patch = {"Operations": [{"op": "Replace", "path": "displayName", "value": "Ex Plained"}]}
    kinds = [
        ("filter userName (miss)", "GET", "Users", {"filter": 'userName eq "nobody@nowhere.example"'}, None),
        ("filter userName (hit)", "GET", "Users", {"filter": f'userName eq "{learner.user_name}"'}, None),
        ("filter externalId", "GET", "Users", {"filter": f'externalId eq "{learner.external_id_lower}"'}, None),
        ("filter work email", "GET", "Users", {"filter": f'emails[type eq "work"].value eq "{work_email}"'}, None),
        ("GET by id", "GET", f"Users/{learner.id}", None, None),
        ("POST", "POST", "Users", None, body),
        ("PATCH", "PATCH", f"Users/{learner.id}", None, patch),
    ]
    for name, method, path, params, payload in kinds:
        captured.clear()
        capturing[0] = True
        resp = client.open(
            f"{base}/{path}", method=method, query_string=params, headers=headers,
            data=json.dumps(payload) if payload is not None else None,
            content_type="application/scim+json" if payload is not None else None,
        )  # fmt: skip
        capturing[0] = False
        print(f"\n=== {name}: {method} {path} {params or ''} -> {resp.status_code}")
        for statement, parameters in captured:
            explain(engine, dialect, statement, parameters, args.verbose)
    with sessions() as s:
        s.execute(text("DELETE FROM access_tokens WHERE name = 'bench explain'"))
        s.commit()


def explain(engine, dialect, statement, parameters, verbose):
    one_line = " ".join(statement.split())
    if not one_line.upper().startswith("SELECT"):
        print(f"  [write] {one_line[:150]}")
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if dialect == "postgresql":
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        else:
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        plan = [" | ".join(str(c) for c in row) if dialect != "postgresql" else row[0] for row in cur.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    text_plan = "\n".join(plan)
    scans = re.findall(
        r"Seq Scan on \w+|SCAN \w+(?! USING)|Index (?:Only )?Scan using \w+|SEARCH \w+ USING [^\n|]+", text_plan
    )
    timing = re.search(r"Execution Time: ([\d.]+ ms)", text_plan)
    rows_removed = re.findall(r"Rows Removed by Filter: (\d+)", text_plan)
    summary = ", ".join(dict.fromkeys(scans)) or "no table access"
    extra = f"; execution {timing.group(1)}" if timing else ""
    if rows_removed:
        extra += f"; rows removed by filter: {'+'.join(rows_removed)}"
    print(f"  [select] {one_line[:150]}{'...' if len(one_line) > 150 else ''}")
    print(f"           plan: {summary}{extra}")
    if verbose:
        print("           " + text_plan.replace("\n", "\n           "))


if __name__ == "__main__":
    sys.exit(main())
