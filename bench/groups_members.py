"""PATCH add/remove member latency on a 5-member and a 50,000-member group (PostgreSQL).

    python -m bench.groups_members
    python -m bench.groups_members --members 50000 --iterations 300
    BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/herd_bench_groups python -m bench.groups_members

The script owns its database: it drops and creates ``herd_bench_groups`` (or the
database named in BENCH_PG_URL; never the one in DATABASE_URL), applies the
migrations with ``models.migrate.upgrade``, and bulk-inserts the learners and
memberships with plain SQL (``generate_series``) so that setting up 50,000
members takes seconds. It drops the database at the end unless ``--keep``.

Requests go through the real Flask app (routing, auth, JSON, SQLAlchemy,
PostgreSQL) with Werkzeug's test client, in one process: what is measured is
Herd's own time per request, without a network or a web server in front.
Each probe adds a learner who is not a member (Entra's default dialect) and
removes it again, alternately with a value list (default dialect) and a
``members[value eq "id"]`` filter (aadOptscim062020), so both groups keep
their size throughout. The broker is left out (the enqueue after commit is
switched off): it is the same constant for every request.

Results go to stdout and bench/results/groups_members.md (and .json), with the
machine, the command and the commit they were measured on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from bench.common.database import drop_database, recreate_database, server_version
from bench.common.stats import latency_summary

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/herd_bench_groups"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
COMPANY_ID = 1


LEARNERS_SQL = """
INSERT INTO learners (id, company_id, resource, user_name, user_name_lower, user_name_key, external_id_lower,
                      display_name, active, training_tags, version, created_at, updated_at)
SELECT gen_random_uuid()::text, :company, jsonb_build_object('userName', :prefix || i || '@bench.example',
       'externalId', :prefix || i, 'displayName', 'Bench ' || :prefix || i, 'active', true),
       :prefix || i || '@bench.example', :prefix || i || '@bench.example', :prefix || i || '@bench.example',
       :prefix || i,
       'Bench ' || :prefix || i, true, '[]'::jsonb, 1, now(), now()
FROM generate_series(1, :n) AS i
"""

GROUP_SQL = """
INSERT INTO groups (id, company_id, display_name, display_name_lower, display_name_key, external_id,
                    external_id_lower, version, created_at, updated_at)
VALUES (:id, :company, :name, lower(:name), lower(:name), :name, lower(:name), 1, now(), now())
"""

MEMBERS_SQL = """
INSERT INTO group_members (group_id, learner_id, added_at)
SELECT :group_id, id, now() FROM learners WHERE company_id = :company AND user_name_lower LIKE :prefix || '%'
"""


def populate(url, members, small, probes):
    """Company, token, learners and two groups; returns (token, {size: group_id}, probe learner ids)."""
    from models import AccessToken, Company, make_engine, make_session_factory
    from models.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as s:
        s.add(Company(id=COMPANY_ID, name="Bench", groups_enabled=True))
        s.flush()
        row, secret = AccessToken.issue(COMPANY_ID, "bench")
        s.add(row)
        s.commit()
    started = time.perf_counter()
    groups = {}
    with engine.begin() as conn:
        for prefix, n in (("big", members), ("small", small), ("probe", probes)):
            conn.execute(text(LEARNERS_SQL), {"company": COMPANY_ID, "prefix": prefix, "n": n})
        for prefix, size in (("big", members), ("small", small)):
            group_id = str(uuid.uuid4())
            conn.execute(text(GROUP_SQL), {"id": group_id, "company": COMPANY_ID, "name": f"Bench {prefix} {size}"})
            conn.execute(text(MEMBERS_SQL), {"group_id": group_id, "company": COMPANY_ID, "prefix": prefix})
            groups[size] = group_id
        conn.execute(text("ANALYZE"))
        probe_ids = (
            conn.execute(text("SELECT id FROM learners WHERE user_name_lower LIKE 'probe%' ORDER BY id"))
            .scalars()
            .all()
        )
    engine.dispose()
    return secret, groups, probe_ids, time.perf_counter() - started


def run(url, members, small, iterations):
    from bench.common.server import in_process_app

    secret, groups, probe_ids, setup_seconds = populate(url, members, small, iterations)
    app = in_process_app(url)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}
    base = f"/scim/v2/{COMPANY_ID}/Groups"

    def timed(method, path, json=None, query=None, expect=(200, 204)):
        started = time.perf_counter()
        resp = client.open(path, method=method, json=json, headers=headers, query_string=query)
        elapsed = time.perf_counter() - started
        if resp.status_code not in expect:
            raise SystemExit(f"{method} {path}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")
        return elapsed, resp

    def add(group_id, learner_id):
        ops = [{"op": "Add", "path": "members", "value": [{"value": learner_id}]}]
        return timed("PATCH", f"{base}/{group_id}", {"schemas": [PATCH_OP], "Operations": ops})[0]

    def remove_list(group_id, learner_id):
        ops = [{"op": "Remove", "path": "members", "value": [{"value": learner_id}]}]
        return timed("PATCH", f"{base}/{group_id}", {"schemas": [PATCH_OP], "Operations": ops})[0]

    def remove_filter(group_id, learner_id):
        ops = [{"op": "remove", "path": f'members[value eq "{learner_id}"]'}]
        return timed("PATCH", f"{base}/{group_id}", {"schemas": [PATCH_OP], "Operations": ops})[0]

    # Warm up connections, caches and query plans on both groups.
    for group_id in groups.values():
        for learner_id in probe_ids[:10]:
            add(group_id, learner_id)
            remove_list(group_id, learner_id)

    # How many statements touch group_members for one add: the same at both sizes.
    engine = app.extensions["herd.engine"]
    touching = {}
    for size, group_id in groups.items():
        seen = []

        def record(conn, cursor, statement, *args, _seen=seen):
            _seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        add(group_id, probe_ids[0])
        remove_list(group_id, probe_ids[0])
        event.remove(engine, "before_cursor_execute", record)
        touching[size] = (len(seen), sum("group_members" in s for s in seen))

    # Interleaved, probe by probe, so that both sizes see the same warm-up and background noise.
    timings = {size: {"add": [], "remove_list": [], "remove_filter": [], "read": [], "filter": []} for size in groups}
    names = {members: f"bench big {members}", small: f"bench small {small}"}
    for i, learner_id in enumerate(probe_ids):
        for size, group_id in sorted(groups.items()):
            t = timings[size]
            t["add"].append(add(group_id, learner_id))
            if i % 2 == 0:
                t["remove_list"].append(remove_list(group_id, learner_id))
            else:
                t["remove_filter"].append(remove_filter(group_id, learner_id))
            t["read"].append(timed("GET", f"{base}/{group_id}", query={"excludedAttributes": "members"})[0])
            query = {"excludedAttributes": "members", "filter": f'displayName eq "{names[size]}"'}
            t["filter"].append(timed("GET", base, query=query)[0])
    results = {
        size: {
            "PATCH add 1 member (default dialect)": latency_summary(t["add"]),
            "PATCH remove 1 member, value list (default dialect)": latency_summary(t["remove_list"]),
            'PATCH remove 1 member, members[value eq "id"] (aadOpt)': latency_summary(t["remove_filter"]),
            "GET group, excludedAttributes=members": latency_summary(t["read"]),
            "GET filter displayName eq, excludedAttributes=members": latency_summary(t["filter"]),
        }
        for size, t in timings.items()
    }
    full_read, resp = timed("GET", f"{base}/{groups[members]}")
    listed = len(resp.get_json().get("members", []))
    return {
        "members": members,
        "small": small,
        "iterations": iterations,
        "setup_seconds": setup_seconds,
        "results": results,
        "touching": touching,
        "full_read_ms": full_read * 1000,
        "full_read_members": listed,
    }


def commit():
    """The commit the tree is at, and whether it has uncommitted changes (read-only git calls)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def report(outcome, url, version):
    lines = [
        "# Group membership PATCH latency: 5 vs 50,000 members",
        "",
        f"Run {outcome['when']} on {platform.platform()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL {version}; "
        f"code at {outcome['commit']}.",
        "",
        "Command: `python -m bench.groups_members "
        f"--members {outcome['members']} --iterations {outcome['iterations']}` "
        f"(database `{make_url(url).database}`, created and dropped by the script; "
        f"setup with SQL bulk inserts took {outcome['setup_seconds']:.1f} s).",
        "",
        "In-process (Flask test client -> app -> PostgreSQL on loopback), one client, "
        "broker left out; the two sizes are probed alternately. Times in milliseconds.",
        "",
        "| group size | request | n | p50 | p95 | p99 | mean | max |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size, rows in sorted(outcome["results"].items()):
        for name, s in rows.items():
            lines.append(
                f"| {size:,} | {name} | {s['n']} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} | {s['p99_ms']:.2f} | "
                f"{s['mean_ms']:.2f} | {s['max_ms']:.2f} |"
            )
    lines += [
        "",
        "SQL statements for one add plus one remove (all / touching `group_members`): "
        + ", ".join(f"{size:,} members: {n} / {m}" for size, (n, m) in sorted(outcome["touching"].items()))
        + ". An add is one `INSERT ... ON CONFLICT DO NOTHING RETURNING`, a remove one `DELETE ... RETURNING`, "
        "both on the (group, learner) primary key; the member list is never read.",
        "",
        f"For scale: a full GET of the {outcome['members']:,}-member group (all {outcome['full_read_members']:,} "
        f"members listed) took {outcome['full_read_ms']:.0f} ms; Entra reads groups with "
        "`excludedAttributes=members`, which never touches the membership table.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=50_000, help="members of the big group")
    parser.add_argument("--small", type=int, default=5, help="members of the small group")
    parser.add_argument("--iterations", type=int, default=300, help="add+remove probes per group")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_PG_URL", DEFAULT_URL)
    if os.environ.get("DATABASE_URL") and make_url(os.environ["DATABASE_URL"]).database == make_url(url).database:
        raise SystemExit("BENCH_PG_URL names the DATABASE_URL database; the bench drops its database, pick another")
    recreate_database(url)
    try:
        version = server_version(url)
        outcome = run(url, args.members, args.small, args.iterations)
    finally:
        if not args.keep:
            drop_database(url)
    outcome.update(when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), commit=commit(), postgresql=version)
    text_report = report(outcome, url, version)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "groups_members.md").write_text(text_report)
    (RESULTS / "groups_members.json").write_text(json.dumps(outcome, indent=2, default=str) + "\n")
    print(text_report)


if __name__ == "__main__":
    main()
