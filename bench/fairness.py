"""Live work first, and fair between companies: one company's new hires while others run bulk work.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/herd_fair python -m bench.fairness \\
        --big 1000000 --tenants 1000 --per-tenant 1000

A fresh database (``--db-name``, dropped and created), gunicorn, the outbox relay and the
Celery workers of ``make run`` (``Procfile.dev``: one live and one bulk process), a
redis-server of its own. Seeded in SQL: company A (new hires POSTed over SCIM), two big
companies B and C of ``--big`` learners, and ``--tenants`` companies of ``--per-tenant``
learners, every ``--due-every``-th of them due for recertification tonight (never assigned
before, so each gets its trainings: more work per learner than a real renewal). Then:

1. lookups (SCIM ``userName eq`` filters, each authenticating its tenant's token) with the
   first tenant alone in the database; with all ``--tenants`` of them, the same calls (the
   first tenant's), then a random tenant per call;
2. ``--hires`` new hires of A, one POST at a time: idle; while B re-runs; while the
   nightly recertification runs over the tenants. Each hire's commit-to-processed time is
   the database's (``processed_at - created_at``, what ``/metrics`` reports);
3. the nightly recertification (beat's task) timed to the last company's end;
4. B and C re-run at once: each job's ``done`` sampled every second (``--two-seconds`` at most).

Results: stdout and bench/results/fairness-<dialect>-<size>.md|json.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
import requests
from sqlalchemy import func, select, update

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common.database import BenchDatabase, add_database_options  # noqa: E402
from bench.common.report import code_version, command_line, describe_machine, fmt, loadavg, write_report  # noqa: E402
from bench.common.seed import make_company, seed_learners  # noqa: E402
from bench.common.stats import latency_summary  # noqa: E402
from config.celery import BULK_QUEUE, RECERTIFY_ALL, RERUN_COMPANY, make_celery  # noqa: E402
from harness.procfile import start_workers  # noqa: E402
from harness.stack import SCIM, Herd, RedisServer, learner_body, wait_for  # noqa: E402
from models import Job, Learner, ProvisioningEvent, utcnow  # noqa: E402
from models.job import RECERTIFY, RERUN_SMART_ASSIGN  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__.split("\n\n")[0])
    p.add_argument("--big", type=int, default=1_000_000, help="learners of each big company B and C")
    p.add_argument("--tenants", type=int, default=1000, help="companies for the nightly run and the lookups")
    p.add_argument("--per-tenant", type=int, default=1000, help="learners of each of them")
    p.add_argument("--due-every", type=int, default=10, help="every N-th of their learners is due (10: 10 %%)")
    p.add_argument("--hires", type=int, default=30, help="new hires of A per phase, one POST at a time")
    p.add_argument("--gap", type=float, default=0.5, help="seconds between two hires")
    p.add_argument("--probes", type=int, default=300, help="lookups per lookup phase")
    p.add_argument("--two-seconds", type=int, default=180, help="most seconds the two re-runs are followed")
    add_database_options(p, default="herd_bench_fair")
    return p.parse_args(argv)


def new_job(db, company_id, kind=RERUN_SMART_ASSIGN):
    with db.sessions() as s:
        job = Job(company_id=company_id, kind=kind, status="queued")
        s.add(job)
        s.commit()
        return job.id


def job_done(db, job_id):
    with db.sessions() as s:
        job = s.get(Job, job_id)
        return job.done, job.total, job.status


def stop_bulk(db, redis_url):
    """End the running bulk jobs (their next turn sees it) and empty the bulk queue."""
    with db.sessions() as s:
        s.execute(update(Job).where(Job.status.in_(("queued", "running"))).values(status="failed"))
        s.commit()
    redis.Redis.from_url(redis_url).delete(BULK_QUEUE)


def hires(herd, db, tenant, phase, count, gap):
    """POST ``count`` new hires of A, wait for each, return their commit-to-processed seconds."""
    ids = []
    for n in range(count):
        resp = herd.post_user(tenant, learner_body(f"{phase}{n}"))
        resp.raise_for_status()
        ids.append(resp.json()["id"])
        time.sleep(gap)

    def all_done():
        with db.sessions() as s:
            rows = s.execute(
                select(ProvisioningEvent.created_at, ProvisioningEvent.processed_at).where(
                    ProvisioningEvent.resource_id.in_(ids), ProvisioningEvent.processed_at.is_not(None)
                )
            ).all()
        return rows if len(rows) == len(ids) else None

    rows = wait_for(all_done, 3600, interval=0.2, message=f"the {phase} hires processed")
    return [(done - created).total_seconds() for created, done in rows]


def lookups(herd, tenants, per_tenant, probes):
    """``probes`` userName lookups on random tenants; their latency summary."""
    rng, seconds = random.Random(7), []
    with requests.Session() as http:
        for _ in range(probes):
            company_id, token, prefix = rng.choice(tenants)
            user = f"{prefix}{rng.randrange(per_tenant)}@bench.example"
            t = time.perf_counter()
            resp = http.get(
                f"{herd.url}/scim/v2/{company_id}/Users",
                params={"filter": f'userName eq "{user}"'},
                headers={"Authorization": f"Bearer {token}", "Accept": SCIM},
                timeout=30,
            )
            seconds.append(time.perf_counter() - t)
            assert resp.status_code == 200 and resp.json()["totalResults"] == 1, resp.text[:200]
    return latency_summary(seconds)


def seed_tenants(db, first, count, per_tenant):
    """``count`` companies of ``per_tenant`` learners; [(id, token, userName prefix)]."""
    made = []
    for n in range(first, first + count):
        company_id, token = make_company(db.sessions, f"Tenant {n}")
        seed_learners(db.sessions, company_id, per_tenant, f"t{n}-", with_events=False)
        made.append((company_id, token, f"t{n}-"))
    return made


def nightly(db, celery, herd, tenant, args):
    """Every ``--due-every``-th tenant learner due; beat's task; the hires meanwhile; the run's wall time."""
    with db.sessions() as s:
        ids = s.scalars(select(Learner.id).where(Learner.user_name.like("t%")).order_by(Learner.id)).all()
        due = ids[:: args.due_every]
        # The beat task starts a job only for a company with someone due.
        companies = len(set(s.scalars(select(Learner.company_id).where(Learner.id.in_(due))).all()))
        for start in range(0, len(due), 5000):
            s.execute(
                update(Learner)
                .where(Learner.id.in_(due[start : start + 5000]))
                .values(review_at=utcnow() - timedelta(days=1))
                .execution_options(synchronize_session=False)
            )
        s.commit()
    db.analyze()
    started = utcnow()
    celery.send_task(RECERTIFY_ALL)
    wait_for(lambda: count_jobs(db, RECERTIFY) > 0, 600, interval=0.2, message="the nightly run started")
    latency = hires(herd, db, tenant, "nightly", args.hires, args.gap)
    wait_for(
        lambda: count_jobs(db, RECERTIFY, "done") == companies,
        36000,
        interval=1,
        message="the nightly run over",
    )
    with db.sessions() as s:
        ended = s.scalar(select(func.max(Job.finished_at)).where(Job.kind == RECERTIFY))
        reviewed = s.scalar(select(func.sum(Job.done)).where(Job.kind == RECERTIFY))
    return latency, {"seconds": (ended - started).total_seconds(), "learners": reviewed, "companies": companies}


def count_jobs(db, kind, status=None):
    with db.sessions() as s:
        query = select(func.count()).select_from(Job).where(Job.kind == kind)
        if status:
            query = query.where(Job.status == status)
        return s.scalar(query)


def two_reruns(db, celery, companies, limit):
    """B and C re-run at once: [(seconds, B done, C done)] every second until both end or ``limit``."""
    jobs = [new_job(db, company_id) for company_id in companies]
    for company_id, job_id in zip(companies, jobs, strict=True):
        celery.send_task(RERUN_COMPANY, args=[company_id, job_id])
    t0, samples = time.perf_counter(), []
    while True:
        states = [job_done(db, job_id) for job_id in jobs]
        samples.append((round(time.perf_counter() - t0), *(done for done, _, _ in states)))
        if all(status in ("done", "failed") for _, _, status in states) or samples[-1][0] >= limit:
            return samples
        time.sleep(1)


def markdown(d):
    a = d["args"]
    lines = [
        "# Live work first, fair between companies",
        "",
        f"{d['started']}; {d['machine']}; {d['database']}; code {d['code']}; load at end {d['loadavg_at_end']}.",
        f"Command: `{d['command']}`",
        "",
        "Workers as `make run` starts them (Procfile.dev: one live, one bulk Celery process), gunicorn with 2",
        f"processes, the relay. B and C: {a['big']:,} learners each; {a['tenants']:,} tenants of "
        f"{a['per_tenant']:,} learners, one in {a['due_every']} due for recertification.",
        "",
        "## New hires of A: commit to processed (one POST at a time)",
        "",
        "| while | n | median ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for phase, label in (("idle", "idle"), ("rerun", "B re-runs"), ("nightly", "the nightly recertification runs")):
        s = d["latency"][phase]
        lines.append(f"| {label} | {s['n']} | {fmt(s['p50_ms'])} | {fmt(s['p99_ms'])} | {fmt(s['max_ms'])} |")
    done, total, _ = d["rerun_progress_during_hires"]
    night = d["nightly"]
    lines += [
        "",
        f"B's re-run had done {done:,} of {total:,} learners when the hires were over.",
        "",
        f"## The nightly recertification over {a['tenants']:,} tenants",
        "",
        f"{night.get('companies', a['tenants']):,} companies had someone due; "
        f"{night['learners']:,} learners reviewed in {night['seconds']:.0f} s on the one bulk worker "
        f"({night['learners'] / max(night['seconds'], 1e-9):.0f} learners/s), the hires above served meanwhile.",
        "",
        "## Lookups (userName filter, token authenticated per call)",
        "",
        "| companies in the database, calls | n | median ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    everyone = f"{a['tenants']:,} + B and C"
    for key, label in (
        ("lookups_one_tenant", "1, its calls"),
        ("lookups_first_tenant", f"{everyone}, the same calls"),
        ("lookups_all_tenants", f"{everyone}, a random tenant per call"),
    ):
        if key not in d:
            continue
        s = d[key]
        lines.append(f"| {label} | {s['n']} | {fmt(s['p50_ms'])} | {fmt(s['p99_ms'])} | {fmt(s['max_ms'])} |")
    lines += ["", "## B and C re-run at once: learners done", "", "| s | B | C |", "|---:|---:|---:|"]
    samples = d["two_reruns"]
    step = max(1, len(samples) // 20)
    for second, b, c in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        lines.append(f"| {second} | {b:,} | {c:,} |")
    return lines


def main(argv=None):
    args, started = parse_args(argv), datetime.now(UTC)
    # The lookups run back to back against one tenant, faster than the default budget of
    # 200 a second on an idle machine: this measures latency, not the rate limiter.
    os.environ.setdefault("RATE_LIMIT_PER_SECOND", "100000")
    db = BenchDatabase(os.environ.get("DATABASE_URL"), args.db_name, keep=args.keep)
    (db.tmp / "logs" / "herd").mkdir(parents=True)
    logs = db.tmp / "logs"
    redis_server = RedisServer(logs).start()
    herd = Herd(logs / "herd", db.url, redis_server.url)
    celery = make_celery(types.SimpleNamespace(broker_url=redis_server.url, relay_after_seconds=30))
    data = {"bench": "fairness", "started": started.isoformat(timespec="seconds"), "args": vars(args)}
    try:
        a_id, a_token = make_company(db.sessions, "Company A")
        tenant = types.SimpleNamespace(id=a_id, token=a_token)
        big = [make_company(db.sessions, name)[0] for name in ("Company B", "Company C")]
        t = time.perf_counter()
        tenants = seed_tenants(db, 0, 1, args.per_tenant)
        db.analyze()
        herd.start_web(workers=2)
        start_workers(herd, "Procfile.dev")
        data["lookups_one_tenant"] = lookups(herd, tenants, args.per_tenant, args.probes)
        tenants += seed_tenants(db, 1, args.tenants - 1, args.per_tenant)
        for company_id, prefix in zip(big, ("b-", "c-"), strict=True):
            seed_learners(db.sessions, company_id, args.big, prefix, with_events=False)
        db.vacuum()
        data["seed_s"] = time.perf_counter() - t
        print(f"seeded in {data['seed_s']:.0f} s; logs {logs}")
        # The same calls as with one company (its tenant's token, its learners), then a random
        # tenant per call: each call its tenant's first in its worker (the token read in full,
        # the rate limiter's lease fetched, the tenant's pages cold).
        data["lookups_first_tenant"] = lookups(herd, tenants[:1], args.per_tenant, args.probes)
        data["lookups_all_tenants"] = lookups(herd, tenants, args.per_tenant, args.probes)
        print("lookups", data["lookups_one_tenant"], data["lookups_first_tenant"], data["lookups_all_tenants"])

        latency = {"idle": hires(herd, db, tenant, "idle", args.hires, args.gap)}
        job_id = new_job(db, big[0])
        celery.send_task(RERUN_COMPANY, args=[big[0], job_id])
        wait_for(lambda: job_done(db, job_id)[0] > 0, 600, interval=0.2, message="B's re-run under way")
        latency["rerun"] = hires(herd, db, tenant, "rerun", args.hires, args.gap)
        data["rerun_progress_during_hires"] = job_done(db, job_id)
        stop_bulk(db, redis_server.url)
        latency["nightly"], data["nightly"] = nightly(db, celery, herd, tenant, args)
        data["latency"] = {phase: latency_summary(seconds) for phase, seconds in latency.items()}
        print("latency", data["latency"], "nightly", data["nightly"])
        data["two_reruns"] = two_reruns(db, celery, big, args.two_seconds)
        stop_bulk(db, redis_server.url)
        data.update(
            machine=describe_machine(),
            database=db.version(),
            command=command_line("bench.fairness"),
            code=code_version(),
            loadavg_at_end=loadavg(),
        )
        size = f"{args.big // 1000}k-{args.tenants}x{args.per_tenant}"
        write_report(f"fairness-{db.dialect}-{size}", markdown(data), data)
        return 0
    finally:
        herd.stop()
        redis_server.stop()
        db.drop()


if __name__ == "__main__":
    sys.exit(main())
