"""Dashboard page latency at size: home, Learners, activity, admin changes and the compliance report with 100k learners.

    python -m bench.dashboard_pages                       # SQLite file in a temp dir, 100,000 learners
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.dashboard_pages --learners 100000

Seeds one big company (``--learners``, with as many audit entries and a few hundred
failed SCIM calls) next to a small one, in a fresh database (SQLite in a temp dir, or on
PostgreSQL a dedicated database ``--db-name``, dropped and created; never the one
DATABASE_URL names), then times each page through the Flask test client, signed in as the
big company's admin: first page, a page deep in the keyset, filters, searches, a learner
page, the activity list, the home page, the compliance report and its people list, the
admin changes. Each learner owes one training (completed, expired, assigned or overdue)
and has a department, a title and a manager (a tree five levels deep). Each figure is the median of ``--repeat`` requests, with the SQL
statements the request ran. Results: stdout and bench/results/dashboard_pages-<db>-<N>.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import Settings  # noqa: E402
from models import (  # noqa: E402
    Admin,
    AuditEvent,
    Company,
    Job,
    Learner,
    LearnerTraining,
    ScimFailure,
    SettingsChange,
    learner_standing,
    make_engine,
    utcnow,
)
from models.db import driver_url  # noqa: E402
from models.latest_cycle import refresh  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from service.dashboard import accounts  # noqa: E402

STATES = ["US-CA", "US-NY", "US-TX", "US-IL", "US-WA", "US-FL", None]
ROLES = ["supervisor", "non-supervisor", "Non Supervisor", "employee", "manager", None]
DEPARTMENTS = ["Sales", "Operations", "Engineering", "People", "Finance", None]
TITLES = ["Account Executive", "Sales Engineer", "Analyst", "Nurse", "Line Cook", None]
# Each learner's manager is learner (i - 1) // SPAN: a tree five levels deep at 100,000.
SPAN = 20
# (status, completed days ago, due in days): valid, expired (CYBER is yearly), open, overdue.
STANDINGS = [("completed", 30, None), ("completed", 400, None), ("assigned", None, 20), ("overdue", None, -5)]
PASSWORD = "bench passphrase long enough"


def fresh_database(db_name):
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tempfile.mkdtemp(prefix='herd-bench-')}/herd.db"
    admin_url = make_url(driver_url(url))
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}"'))
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    engine.dispose()
    return admin_url.set(database=db_name).render_as_string(hide_password=False)


def seed(url, n):
    engine = make_engine(url)
    start = utcnow() - timedelta(days=30)
    with engine.begin() as conn:
        conn.execute(
            insert(Company),
            [dict(id=1, name="Big Co", created_at=start), dict(id=2, name="Small Co", created_at=start)],
        )
        conn.execute(
            insert(Admin),
            [
                dict(
                    company_id=1,
                    email="admin@big.example",
                    password_hash=accounts.hash_password(PASSWORD),
                    must_change_password=False,
                    failed_logins=0,
                    created_at=start,
                )
            ],
        )
    ids = []
    for chunk in range(0, n, 5000):
        rows, audits, owed = [], [], []
        for i in range(chunk, min(n, chunk + 5000)):
            lid = str(uuid.UUID(int=i + 1, version=4))
            ids.append(lid)
            name = f"user{i:07d}@big.example"
            created = start + timedelta(seconds=i * 20)
            status, done_ago, due_in = STANDINGS[i % len(STANDINGS)]
            rows.append(
                dict(
                    id=lid,
                    company_id=1,
                    resource={"userName": name, "name": {"givenName": f"Given{i}", "familyName": f"Family{i % 997}"}},
                    user_name=name,
                    user_name_lower=name,
                    email_lower=name,
                    display_name=f"Given{i} Family{i % 997}",
                    given_name=f"Given{i}",
                    family_name=f"Family{i % 997}",
                    active=i % 10 != 0,
                    region=STATES[i % len(STATES)],
                    country="US",
                    role=ROLES[i % len(ROLES)],
                    department=DEPARTMENTS[i % len(DEPARTMENTS)],
                    title=TITLES[i % len(TITLES)],
                    manager_id=str(uuid.UUID(int=(i - 1) // SPAN + 1, version=4)) if i else None,
                    training_tags=[],
                    # What the learner owes, counted as models/learner_standing.py keeps it on
                    # write (set here: a refresh would rewrite every learner row).
                    owed_count=1,
                    owed_overdue=int(status == "overdue"),
                    owed_completed=int(status == "completed"),
                    version=1,
                    created_at=created,
                    updated_at=created,
                )
            )
            now = utcnow()
            owed.append(
                dict(
                    company_id=1,
                    learner_id=lid,
                    family="CYBER",
                    cycle=1,
                    training_code="CYBER",
                    status=status,
                    progress=100 if done_ago else 0,
                    assigned_at=created,
                    due_at=now + timedelta(days=due_in) if due_in is not None else None,
                    completed_at=now - timedelta(days=done_ago) if done_ago else None,
                    updated_at=created,
                )
            )
            audits.append(
                dict(
                    company_id=1,
                    learner_id=lid,
                    resource_type="User",
                    action="create",
                    changes={},
                    outcome={"trainings_added": ["CYBER"]},
                    occurred_at=created,
                    recorded_at=created,
                    token_name="Entra",
                )
            )
        with engine.begin() as conn:
            conn.execute(insert(Learner), rows)
            conn.execute(insert(AuditEvent), audits)
            conn.execute(insert(LearnerTraining), owed)
    with engine.begin() as conn:
        conn.execute(
            insert(ScimFailure),
            [
                dict(
                    company_id=1,
                    method="POST",
                    path="/scim/v2/1/Users",
                    status=409,
                    scim_type="uniqueness",
                    detail="userName taken",
                    occurred_at=start + timedelta(seconds=i * 3000),
                )
                for i in range(300)
            ],
        )
        conn.execute(
            insert(SettingsChange),
            [
                dict(
                    company_id=1,
                    actor="admin@big.example",
                    setting="due_period",
                    summary="Due period (days) changed",
                    before={"due_days": 30 + i},
                    after={"due_days": 31 + i},
                    occurred_at=start + timedelta(hours=i),
                )
                for i in range(500)
            ],
        )
        conn.execute(
            insert(Job),
            [
                dict(
                    company_id=1, kind="recertify", status="done", total=n, done=n, added=i, overdue=i, created_at=start
                )
                for i in range(200)
            ],
        )
        # Rows inserted in bulk (not through the ORM): the cycle each learner owes, flagged as the
        # session hook would have; the learners' counts of it checked (none to rewrite).
        refresh(conn, company_id=1)
        learner_standing.refresh(conn, company_id=1)
        assert not learner_standing.stale(conn, 1)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return ids


def reused(db_name):
    """The URL of the PostgreSQL database ``db_name`` when it exists and holds learners (else None)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    target = make_url(driver_url(url)).set(database=db_name).render_as_string(hide_password=False)
    engine = create_engine(target)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT count(*) FROM learners WHERE company_id = 1")).scalar()
    except Exception:  # no such database or table yet: seed afresh
        found = 0
    finally:
        engine.dispose()
    return target if found else None


def seeded_ids(url):
    """The big company's learner ids in seeding order (as ``seed`` returned them)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM learners WHERE company_id = 1")).scalar()
    engine.dispose()
    return [str(uuid.UUID(int=i + 1, version=4)) for i in range(count)]


def deep_cursor(client, sort, pages=40):
    """The cursor of page ``pages + 1`` of the learner list in ``sort`` order, by its Next links."""
    html = client.get(f"/dashboard/learners?sort={sort}").get_data(as_text=True)
    for _ in range(pages):
        after = re.search(rf'href="/dashboard/learners\?after=([^"&]+)&amp;sort={sort}" rel="next"', html).group(1)
        html = client.get(f"/dashboard/learners?sort={sort}&after={after}").get_data(as_text=True)
    return after


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db-name", default="herd_bench_dashboard")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="PostgreSQL: keep the database --db-name seeded by an earlier run (migrated to head), "
        "seeding only when it holds no learners; the results file is not written",
    )
    parser.add_argument("--only", default="", help="time only the pages whose label contains this text")
    args = parser.parse_args(argv)

    url = reused(args.db_name) if args.reuse else None
    if url:
        upgrade(url)
        ids, seeded = seeded_ids(url), None
    else:
        url = fresh_database(args.db_name)
        upgrade(url)
        t0 = time.perf_counter()
        ids = seed(url, args.learners)
        seeded = time.perf_counter() - t0

    from service import create_app

    app = create_app(Settings.from_env(env={}, database_url=url, redis_url="redis://127.0.0.1:1/0", secret_key="bench"))
    client = app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/dashboard/login").get_data(as_text=True)
    ).group(1)
    assert (
        client.post(
            "/dashboard/login", data={"csrf_token": token, "email": "admin@big.example", "password": PASSWORD}
        ).status_code
        == 302
    )

    after = title_after = manager_after = overdue_after = ""
    if "learners" in args.only or not args.only:  # the keyset cursors only the learner list needs
        deep = client.get("/dashboard/learners").get_data(as_text=True)
        for _ in range(40):  # 40 pages in: the keyset costs the same as page 1
            after = re.search(r'href="/dashboard/learners\?after=([^"]+)" rel="next"', deep).group(1)
            deep = client.get(f"/dashboard/learners?after={after}").get_data(as_text=True)
        title_after, manager_after, overdue_after = (
            deep_cursor(client, sort) for sort in ("title", "manager", "overdue")
        )
    manager = ids[1]  # learner 1: the 20 below learner 0's first report and their own, ~5,000 in all
    cases = [
        ("learners: first page", "/dashboard/learners"),
        ("learners: sorted by name", "/dashboard/learners?sort=name"),
        ("learners: sorted by title, page 41 (keyset)", f"/dashboard/learners?sort=title&after={title_after}"),
        ("learners: sorted by manager", "/dashboard/learners?sort=manager"),
        ("learners: sorted by manager, page 41 (keyset)", f"/dashboard/learners?sort=manager&after={manager_after}"),
        ("learners: sorted by overdue count", "/dashboard/learners?sort=overdue"),
        ("learners: sorted by overdue count, page 41", f"/dashboard/learners?sort=overdue&after={overdue_after}"),
        (
            "learners: sorted by overdue count, active, US-CA",
            "/dashboard/learners?sort=overdue&status=active&location=region:US-CA",
        ),
        ("learners: sorted by region, search 'sales'", "/dashboard/learners?sort=region&q=sales"),
        ("learners: page 41 (keyset)", f"/dashboard/learners?after={after}"),
        ("learners: active", "/dashboard/learners?status=active"),
        ("learners: inactive, US-NY", "/dashboard/learners?status=inactive&location=region:US-NY"),
        ("learners: role supervisor", "/dashboard/learners?role=supervisor"),
        ("learners: search common ('family1')", "/dashboard/learners?q=family1"),
        ("learners: search rare (one userName)", f"/dashboard/learners?q=user{args.learners // 2:07d}"),
        ("learners: search no match", "/dashboard/learners?q=zzzz-nobody"),
        ("learner page", f"/dashboard/learners/{ids[len(ids) // 2]}"),
        ("activity: first page", "/dashboard/activity"),
        ("activity: failed only", "/dashboard/activity?kind=failed"),
        ("activity: one learner", f"/dashboard/activity?learner=user{args.learners // 3:07d}@big.example"),
        ("learners: search inside ('ales': department, name)", "/dashboard/learners?q=ales"),
        ("home (needs attention)", "/dashboard/"),
        ("compliance report", "/dashboard/reports/compliance"),
        ("people: overdue or expired", "/dashboard/reports/compliance/people"),
        ("people: page 200", "/dashboard/reports/compliance/people?page=200"),
        (
            "people: overdue, Sales, US-CA",
            "/dashboard/reports/compliance/people?status=overdue&department=Sales&region=US-CA",
        ),
        ("people: below one manager (~5,000)", f"/dashboard/reports/compliance/people?manager={manager}"),
        ("compliance report: below one manager", f"/dashboard/reports/compliance?manager={manager}"),
        ("compliance report: chart by department", "/dashboard/reports/compliance?chart=department"),
        ("activity: learner search by part of a name", "/dashboard/activity?learner=given4242"),
        ("admin changes", "/dashboard/activity/admin"),
    ]
    statements = []
    engines = {id(e): e for e in (app.extensions["herd.engine"], app.extensions.get("herd.read_engine")) if e}
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
    lines = []
    for label, path in cases:
        if args.only not in label:
            continue
        times = []
        for _ in range(args.repeat):
            statements.clear()
            t = time.perf_counter()
            resp = client.get(path)
            times.append((time.perf_counter() - t) * 1000)
            assert resp.status_code == 200, (path, resp.status_code)
        lines.append((label, statistics.median(times), max(times), len(statements)))

    db = make_url(driver_url(url)).get_backend_name()
    command = " ".join(["python -m bench.dashboard_pages", *(argv or sys.argv[1:])])
    if seeded is None:
        print("\n".join(f"| {label} | {m:.1f} | {w:.1f} | {q} |" for label, m, w, q in lines))
        return
    report = [
        f"# Dashboard pages with {args.learners:,} learners ({db})",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"seeded in {seeded:.0f} s. Command: `{command}`",
        "",
        "| page | median ms | max ms | SQL statements |",
        "|---|---:|---:|---:|",
        *[f"| {label} | {median:.1f} | {worst:.1f} | {queries} |" for label, median, worst, queries in lines],
    ]
    out = ROOT / "bench" / "results" / f"dashboard_pages-{db}-{args.learners}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
