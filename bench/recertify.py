"""The daily recertification run over one big company where 1 % of learners are due.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_compliance python -m bench.recertify --learners 1000000

A fresh PostgreSQL database (``--db-name``, default ``herd_bench_compliance``, dropped
and created), one company of ``--learners`` learners seeded in bulk SQL
(bench.compliance_seed): every learner holds a completed annual harassment-prevention
course; 1 % completed it 350 days ago (due for recertification within the 30-day lead
time), the rest 100 days ago. Then, in this process:

1. the selection: ``EXPLAIN (ANALYZE, BUFFERS)`` of the due-learner query the run pages with;
2. ``workers.recertify.run`` for the company (what the daily beat task runs), timed;
3. checks that it touched only the due learners: the job's counts, the rows added, the
   cycle-1 rows and the learners' ``review_at`` of everyone else unchanged;
4. a baseline in the same run: the same reconcile over a sample of learners that are not
   due (what a daily full re-run would do for each of them), extrapolated to the company.

Results: stdout and bench/results/recertify-postgresql-<N>.md|json.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common.report import code_version, command_line, describe_machine, loadavg, write_report  # noqa: E402
from bench.compliance_seed import bench_company, timed_seed  # noqa: E402
from models import AuditEvent, Company, Learner, LearnerTraining, utcnow  # noqa: E402
from workers.recertify import due_filter, run  # noqa: E402
from workers.reconcile import reconcile  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", type=int, default=1_000_000)
    p.add_argument("--due-every", type=int, default=100, help="every N-th learner is due (100: 1 %%)")
    p.add_argument("--baseline-sample", type=int, default=5000, help="not-due learners reconciled for the baseline")
    p.add_argument("--db-name", default="herd_bench_compliance")
    p.add_argument("--keep", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    db, company_id, _ = bench_company(args.db_name, args.keep)
    try:
        seed_s = timed_seed(db, company_id, args.learners, args.due_every)
        expected = args.learners // args.due_every
        now = utcnow()
        with db.sessions() as s:
            query = select(Learner.id).where(*due_filter(company_id, now)).order_by(Learner.id).limit(500)
            sql = str(query.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
            plan = s.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
            t = time.perf_counter()
            counted = s.scalar(select(func.count()).select_from(Learner).where(*due_filter(company_id, now)))
            count_ms = (time.perf_counter() - t) * 1000
            # A copy of every not-due learner's review date, to compare after the run.
            s.execute(
                text(
                    "CREATE TABLE bench_not_due AS SELECT id, review_at FROM learners "
                    "WHERE company_id = :c AND review_at > :now"
                ),
                {"c": company_id, "now": now},
            )
            s.commit()
        load_before = loadavg()
        t = time.perf_counter()
        job = run(db.sessions, company_id)
        run_s = time.perf_counter() - t
        with db.sessions() as s:
            added_rows = s.scalar(select(func.count()).select_from(LearnerTraining).where(LearnerTraining.cycle == 2))
            touched_old = s.scalar(
                select(func.count())
                .select_from(LearnerTraining)
                .where(LearnerTraining.cycle == 1, LearnerTraining.updated_at >= now)
            )
            audit = s.scalar(select(func.count()).select_from(AuditEvent))
            still_due = s.scalar(select(func.count()).select_from(Learner).where(*due_filter(company_id, utcnow())))
            # Learners not due keep the review date the seed gave them (none was rewritten).
            changed_reviews = s.scalar(
                text(
                    "SELECT count(*) FROM bench_not_due b JOIN learners l ON l.id = b.id "
                    "WHERE l.review_at IS DISTINCT FROM b.review_at"
                )
            )
            not_due = s.scalar(text("SELECT count(*) FROM bench_not_due"))
            sample = s.scalars(
                select(Learner)
                .where(Learner.company_id == company_id, Learner.review_at > now)
                .limit(args.baseline_sample)
            ).all()
            company_row = s.get(Company, company_id)
            t = time.perf_counter()
            for learner in sample:
                reconcile(s, learner, company_row, now=utcnow())
            baseline_s = time.perf_counter() - t
            s.rollback()
        per_learner_ms = baseline_s / max(1, len(sample)) * 1000
        full_rerun_s = per_learner_ms * args.learners / 1000
        checks = {
            "due counted by the selection": (counted, expected),
            "learners reconciled (job.done)": (job.done, expected),
            "assignments added (job.added)": (job.added, expected),
            "cycle-2 rows in the database": (added_rows, expected),
            "audit entries": (audit, expected),
            "cycle-1 rows changed": (touched_old, 0),
            "learners still due after the run": (still_due, 0),
        }
        ok = all(got == want for got, want in checks.values())
        lines = [
            f"# Daily recertification run: {args.learners:,} learners, {expected:,} due ({100 / args.due_every:g} %)",
            "",
            f"- command: `{command_line('bench.recertify')}`",
            f"- when: {started:%Y-%m-%d %H:%M} UTC; code: {code_version()}; {db.version()}",
            f"- machine: {describe_machine()}; load average before the run: {load_before}",
            f"- bulk SQL seed: {seed_s:.0f} s (learners, assignments, VACUUM ANALYZE)",
            "",
            "| measure | value |",
            "|---|---|",
            f"| count of due learners (indexed range) | {count_ms:.1f} ms |",
            f"| **daily run (select + reconcile + audit, batches of 500)** | **{run_s:.1f} s** |",
            f"| learners reconciled per second | {job.done / run_s:.0f} |",
            f"| baseline: reconcile one learner that is not due (sample of {len(sample):,}) | {per_learner_ms:.2f} ms |",
            f"| baseline extrapolated: a daily full re-run of {args.learners:,} learners | {full_rerun_s:.0f} s |",
            f"| ratio full re-run / due-only run | {full_rerun_s / run_s:.0f}x |",
            "",
            "| check | got | expected |",
            "|---|---|---|",
            *[f"| {name} | {got:,} | {want:,} |" for name, (got, want) in checks.items()],
            f"| not-due learners ({not_due:,}) whose review date changed | {changed_reviews:,} | 0 |",
            "",
            "Selection plan (first batch, `EXPLAIN (ANALYZE, BUFFERS)`):",
            "",
            "```",
            *plan,
            "```",
        ]
        write_report(
            f"recertify-postgresql-{args.learners}",
            lines,
            {
                "learners": args.learners,
                "due": expected,
                "seed_s": seed_s,
                "count_ms": count_ms,
                "run_s": run_s,
                "baseline_ms_per_learner": per_learner_ms,
                "full_rerun_s_extrapolated": full_rerun_s,
                "checks": checks,
                "changed_reviews_not_due": changed_reviews,
                "not_due": not_due,
                "plan": plan,
                "command": command_line("bench.recertify"),
                "machine": describe_machine(),
                "database": db.version(),
                "code": code_version(),
            },
        )
        if not ok or changed_reviews or not_due != args.learners - expected:
            raise SystemExit("a check failed")
    finally:
        db.drop()


if __name__ == "__main__":
    main()
