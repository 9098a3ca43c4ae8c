"""Replay Entra ID's provisioning cycle against a live Herd server and report latencies.

    python -m bench.entra_cycle --users 1000 --concurrency 8
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.entra_cycle --users 10000
    python -m bench.entra_cycle --users 1000 --url http://127.0.0.1:5000 --company 1 --token SECRET

Without ``--url`` the script runs its own server: a fresh database (a SQLite file
in a temp dir, or on PostgreSQL a dedicated database it drops and creates, never
the one named in DATABASE_URL), the migrations, a company and a token made with
the operator CLI, and ``gunicorn wsgi:app`` on a free loopback port. The broker
URL points at a closed port: SCIM must not need Redis (docs/testing.md).

Phases, each run by C threads with their own kept HTTP connection:

1. initial cycle: filter ``userName eq`` (0 hits) then POST the Entra payload;
2. incremental cycle: filter (1 hit) then PATCH in Entra's default dialect;
3. lookups: filter by userName, externalId, ``emails[type eq "work"].value``, GET by id;
4. deactivations: ``PATCH active "False"`` for a tenth of the users.

Every non-2xx answer (and every transport failure) is an error; a 2xx answer
with the wrong content (hit count, id, active flag) is counted as "wrong".
Results go to stdout and to bench/results/entra_cycle-<db>-<N>.md|json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.common.client import (
    PHASES,
    Client,
    deactivate_task,
    incremental_task,
    initial_task,
    lookup_task,
    make_users,
    okta_task,
    run_phase,
)
from bench.common.report import RESULTS, code_version, fmt, loadavg, machine_info
from bench.common.server import BENCH_DATABASE, SERVERS, OwnServer
from bench.common.stats import percentile

# -- the simulated directory -------------------------------------------------------


# -- the HTTP client and its measurements ----------------------------------------------


# -- the four phases as per-user tasks ---------------------------------------------------------


# -- running a phase ---------------------------------------------------------------------------


# -- statistics and reports ------------------------------------------------------------------------


def summarize(phases):
    rows = []
    phase_rows = []
    for phase in phases:
        kinds = sorted(
            {s.kind for s in phase.samples}, key=lambda k: min(s.start for s in phase.samples if s.kind == k)
        )
        for kind in kinds:
            samples = sorted((s for s in phase.samples if s.kind == kind), key=lambda s: s.start)
            ms = sorted(s.ms for s in samples)
            tenth = max(1, len(samples) // 10)
            first = sorted(s.ms for s in samples[:tenth])
            last = sorted(s.ms for s in samples[-tenth:])
            errors = [s for s in samples if not 200 <= s.status < 300]
            statuses = {}
            for s in errors:
                statuses[str(s.status)] = statuses.get(str(s.status), 0) + 1
            rows.append(
                {
                    "phase": phase.name,
                    "kind": kind,
                    "count": len(samples),
                    "errors": len(errors),
                    "error_statuses": statuses,
                    "wrong": sum(1 for s in samples if s.wrong),
                    "rps": len(samples) / phase.wall_s if phase.wall_s else None,
                    "p50_ms": percentile(ms, 50),
                    "p95_ms": percentile(ms, 95),
                    "p99_ms": percentile(ms, 99),
                    "max_ms": ms[-1] if ms else None,
                    # Does latency grow as the data grows? p50 of the first and the last tenth.
                    "p50_first_tenth_ms": percentile(first, 50),
                    "p50_last_tenth_ms": percentile(last, 50),
                }
            )
        phase_rows.append(
            {
                "phase": phase.name,
                "requests": len(phase.samples),
                "errors": sum(1 for s in phase.samples if not 200 <= s.status < 300),
                "wrong": sum(1 for s in phase.samples if s.wrong),
                "wall_s": phase.wall_s,
                "rps": len(phase.samples) / phase.wall_s if phase.wall_s else None,
                "cpu_busy": phase.cpu_busy,
                "client_cpu_s": phase.client_cpu_s,
                "server_cpu_s": phase.server_cpu_s,
                "database_cpu_s": phase.database_cpu_s,
                "script_failures": len(phase.script_failures),
            }
        )
    return rows, phase_rows


def error_examples(phases, limit=10):
    seen = {}
    for phase in phases:
        for s in phase.samples:
            if s.wrong or not 200 <= s.status < 300:
                key = (s.kind, s.status, s.detail)
                seen[key] = seen.get(key, 0) + 1
    top = sorted(seen.items(), key=lambda kv: -kv[1])[:limit]
    return [{"kind": k, "status": st, "detail": d, "count": n} for (k, st, d), n in top]


def markdown(report):
    m = report["machine"]
    r = report["run"]
    analyzed = (
        "ANALYZE run by the bench after the initial phase" if r["analyze_after_initial"] else "no ANALYZE by the bench"
    )
    lines = [
        f"# Entra cycle: {r['users']} users, {r['concurrency']} clients, {r['database']}",
        "",
        f"- command: `{r['command']}`",
        f"- started: {r['started_at']} UTC, total {r['total_s']:.1f} s; code: {r['code']}",
        (
            f"- machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, {m['platform']}, "
            f"Python {m['python']}"
        ),
        f"- load average before / after: {m['loadavg_before']} / {m['loadavg_after']}",
        f"- database: {r['database']} ({r['database_version']}); server: {r['server']}",
        f"- planner statistics: {r['planner_statistics_at_end']} ({analyzed})",
        (
            f"- the load generator, gunicorn and the database share the same {m['cores']} cores; "
            "figures are noisy: compare ratios within one run"
        ),
        "",
        "## Phases",
        "",
        "| phase | requests | errors | wrong | wall s | req/s | CPU busy (all cores) | bench client CPU s | script failures |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in report["phases"]:
        busy = f"{p['cpu_busy'] * 100:.0f} %" if p["cpu_busy"] is not None else "-"
        lines.append(
            f"| {p['phase']} | {p['requests']} | {p['errors']} | {p['wrong']} | {fmt(p['wall_s'])} | "
            f"{fmt(p['rps'])} | {busy} | {fmt(p['client_cpu_s'])} | {p['script_failures']} |"
        )
    lines += [
        "",
        "## Requests",
        "",
        "| kind | count | errors | wrong | req/s | p50 ms | p95 ms | p99 ms | max ms | p50 first 10 % | p50 last 10 % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["requests"]:
        lines.append(
            f"| {row['kind']} | {row['count']} | {row['errors']} | {row['wrong']} | {fmt(row['rps'])} | "
            f"{fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | {fmt(row['p99_ms'])} | {fmt(row['max_ms'])} | "
            f"{fmt(row['p50_first_tenth_ms'])} | {fmt(row['p50_last_tenth_ms'])} |"
        )
    lines += [
        "",
        (
            "req/s of a kind is its count over its phase's wall time (a phase interleaves its kinds). "
            "errors: non-2xx answers and transport failures; wrong: 2xx answers with the wrong content. "
            "p50 first/last 10 %: median latency of the first and last tenth of that kind's requests; "
            "in the initial phase the data grows from 0 to N, so a slower last tenth means cost growing "
            "with the data (in the other phases the data size is constant: a difference there is noise)."
        ),
    ]
    if report["error_examples"]:
        lines += ["", "## Errors (most frequent)", "", "| kind | status | count | detail |", "|---|---:|---:|---|"]
        for e in report["error_examples"]:
            lines.append(f"| {e['kind']} | {e['status']} | {e['count']} | {e['detail'].replace('|', '/')} |")
    if report.get("server_log"):
        lines += ["", f"Server log: {report['server_log']}"]
    return "\n".join(lines) + "\n"


def print_table(report):
    print()
    print(markdown(report))


# -- machine facts ---------------------------------------------------------------------------------


# -- the server under test -----------------------------------------------------------------------------


# -- main ----------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.entra_cycle", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=1000, help="N: users in the simulated directory (default 1000)")
    p.add_argument("--concurrency", type=int, default=8, help="C: concurrent clients per phase (default 8)")
    p.add_argument("--url", help="base URL of a running Herd (e.g. http://127.0.0.1:5000) or its tenant URL")
    p.add_argument("--company", type=int, help="company id (with --url)")
    p.add_argument("--token", help="bearer token of that company (with --url)")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers of the server it starts (default 4)")
    p.add_argument("--server", default="gevent", choices=SERVERS, help="server model (default gevent, as production)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker for gthread / granian (default 4)")
    p.add_argument("--deactivate", type=float, default=0.10, help="fraction of users deactivated (default 0.10)")
    p.add_argument("--warmup", type=int, default=32, help="extra users created first, reported apart (default 32)")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds (Entra's: 60)")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated directory")
    p.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE after the initial phase (what autovacuum does in production; off on dev machines)",
    )
    p.add_argument(
        "--keep-db", action="store_true", help="keep the bench database afterwards (for python -m bench.explain)"
    )
    p.add_argument(
        "--db-name", default=BENCH_DATABASE, help=f"PostgreSQL database it creates (default {BENCH_DATABASE})"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the .md/.json results")
    p.add_argument("--tag", default="", help="suffix for the result file names")
    args = p.parse_args(argv)
    if args.users < 1 or args.concurrency < 1:
        p.error("--users and --concurrency must be at least 1")
    if args.url and (args.token is None or (args.company is None and "/scim/v2/" not in args.url)):
        p.error("--url needs --token and --company (or a tenant URL ending in /scim/v2/<company>)")
    return args


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    load_before = loadavg()
    server = None
    if args.url:
        url = args.url.rstrip("/")
        tenant_url = url if "/scim/v2/" in url else f"{url}/scim/v2/{args.company}"
        token = args.token
        database, db_version, server_desc = "external", "unknown", f"external server at {url}"
    else:
        server = OwnServer(
            os.environ.get("DATABASE_URL"),
            args.workers,
            args.keep_db,
            args.db_name,
            server=args.server,
            threads=args.threads,
        )
    try:
        if server is not None:
            base, company, token = server.start()
            tenant_url = f"{base}/scim/v2/{company}"
            database, db_version, server_desc = server.dialect, server.database_version(), server.server_desc
            print(f"server: {server_desc}, database {database} {db_version}, tenant {tenant_url}")
        run_id = uuid.uuid4().hex[:8]
        users = make_users(args.users, run_id, args.seed)
        # Not measured as part of the cycle: every gunicorn worker loads its lazy imports
        # (pycountry on the first POST) and opens its pool; reported as its own phase.
        warm_users = make_users(args.warmup, f"{run_id}w", args.seed + 1)

        def make_client():
            return Client(tenant_url, token, args.timeout)

        every = max(1, round(1 / args.deactivate)) if args.deactivate > 0 else None
        plan = {
            "warmup": [lambda c, u=u: initial_task(c, u, "warmup") for u in warm_users],
            "initial": [lambda c, u=u: initial_task(c, u) for u in users],
            "incremental": [lambda c, u=u: incremental_task(c, u, args.seed * 1_000_003 + u.index) for u in users],
            "lookup": [lambda c, u=u: lookup_task(c, u) for u in users],
            "okta": [lambda c, u=u: okta_task(c, u) for u in users],
            "deactivate": [lambda c, u=u: deactivate_task(c, u) for u in users if every and u.index % every == 0],
        }
        phases = []
        for name in PHASES:
            print(f"phase {name}: {len(plan[name])} users, {args.concurrency} clients ...", flush=True)
            result = run_phase(name, plan[name], args.concurrency, make_client)
            phases.append(result)
            if name == "initial" and args.analyze and server is not None:
                t = time.perf_counter()
                server.analyze()
                print(f"  ANALYZE after the initial phase: {time.perf_counter() - t:.1f} s", flush=True)
            errors = sum(1 for s in result.samples if not 200 <= s.status < 300)
            print(
                f"  {len(result.samples)} requests in {result.wall_s:.1f} s "
                f"({len(result.samples) / result.wall_s:.1f} req/s), {errors} errors",
                flush=True,
            )
        server_log = server.log_summary() if server else ""
        statistics = server.statistics() if server else "unknown"
    finally:
        if server is not None:
            server.stop()

    rows, phase_rows = summarize(phases)
    report = {
        "run": {
            "users": args.users,
            "concurrency": args.concurrency,
            "database": database,
            "database_version": db_version,
            "server": server_desc,
            "command": " ".join(
                ([f"DATABASE_URL={os.environ['DATABASE_URL']}"] if os.environ.get("DATABASE_URL") else [])
                + ["python -m bench.entra_cycle"]
                + [
                    shlex.quote(a) if a != args.token else "<token>"
                    for a in (argv if argv is not None else sys.argv[1:])
                ]
            ),
            "started_at": started.strftime("%Y-%m-%d %H:%M:%S"),
            "total_s": time.perf_counter() - t_start,
            "deactivate_fraction": args.deactivate,
            "seed": args.seed,
            "code": code_version(),
            "analyze_after_initial": bool(args.analyze and server is not None),
            "planner_statistics_at_end": statistics,
            "warmup_users": args.warmup,
        },
        "machine": machine_info() | {"loadavg_before": load_before, "loadavg_after": loadavg()},
        "phases": phase_rows,
        "requests": rows,
        "error_examples": error_examples(phases),
        "server_log": server_log,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = ("-analyzed" if args.analyze else "") + (f"-{args.tag}" if args.tag else "")
    stem = f"entra_cycle-{database}-{args.users}{suffix}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(report))
    print_table(report)
    print(f"wrote {args.out / (stem + '.md')} and .json")
    total_errors = sum(p["errors"] + p["wrong"] + p["script_failures"] for p in phase_rows)
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main())
