"""Re-run Smart Assign over a whole company, split in parts that several workers share.

The dashboard creates a queued ``jobs`` row and enqueues ``herd.smart_assign.rerun_company``
with the company and job ids; the dashboard polls the row. That task counts the learners,
cuts their ids into ranges of ``PART_SIZE`` (``job_parts`` rows, created once) and
takes turns with other companies' jobs: each task does one part, then queues a
``herd.smart_assign.rerun_help`` task for the next at the back of the bulk queue
(``workers.turns``), so a re-run never holds the bulk workers until it ends, and up
to ``TURNS_AT_ONCE`` workers share one job's parts.

Every worker of the job takes a part per batch: each batch of learners is re-read
through the company's attribute mapping and reconciled with its state loaded in a few
queries (``workers.reconcile.preloaded``), and the part's cursor and counts and the
job's ``done``/``added`` advance in the same transaction. On PostgreSQL the part row
is locked for the batch and other workers skip it, so no batch is done twice at once;
a redelivered task (worker killed, retry) resumes every part after its last committed
batch, and the counts stay exact. The worker that finishes the last part marks the
job done. ``reconcile`` is idempotent, so a batch run twice changes nothing.
"""

import logging
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from config.celery import RERUN_COMPANY, RERUN_HELP
from models import Company, Job, JobPart, Learner, utcnow
from models.attribute_mapping import apply_to
from models.job import ACTIVE, DONE, FAILED, QUEUED, RERUN_SMART_ASSIGN, RUNNING
from workers.celery_app import MAX_RETRIES, RETRY_POLICY, app, sessions
from workers.reconcile import preloaded, reconcile, run_entry
from workers.turns import next_turn

log = logging.getLogger(__name__)
BATCH = 200
# Learners per part: 100,000 learners make 40 parts, enough for the workers to share
# them evenly; a part is a few seconds of one worker's time.
PART_SIZE = 2500
# Parts a task does per turn before it yields to the rest of the bulk queue.
PARTS_PER_TURN = 1
# Turns of one job in the bulk queue at once: the most bulk workers one job occupies.
# Two jobs alternate turns; with more bulk workers than this, several jobs run side by side.
TURNS_AT_ONCE = 2
# A task enqueued without a job id adopts a queued or running job younger than this.
ADOPT_WITHIN = timedelta(hours=1)


class JobFailed(Exception):
    """The job cannot run (no such company or job): recorded on the row, not retried."""


def _job(session, company_id, job_id, now):
    """The job row to report on: the given one, or one to adopt or create when no id was sent."""
    if job_id is not None:
        job = session.get(Job, job_id)
        if job is None or job.company_id != company_id:
            raise JobFailed(f"job {job_id} of company {company_id} not found")
        return job
    job = session.scalar(
        select(Job)
        .where(
            Job.company_id == company_id,
            Job.kind == RERUN_SMART_ASSIGN,
            Job.status.in_(ACTIVE),
            Job.created_at > now - ADOPT_WITHIN,
        )
        .order_by(Job.id.desc())
        .limit(1)
    )
    if job is None:
        job = Job(company_id=company_id, kind=RERUN_SMART_ASSIGN, status=QUEUED, created_at=now, updated_at=now)
        session.add(job)
        session.flush()
    return job


def _start(session_factory, company_id, job_id, part_size, now):
    """Start (or find) the job and cut it into parts; returns ``(job_id, running)``."""
    with session_factory() as session:
        if session.get(Company, company_id) is None:
            raise JobFailed(f"no company {company_id}")
        job_id = _job(session, company_id, job_id, now).id
        # Locked: two copies of this task (a redelivery) must not both cut the job into parts.
        query = select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        job = session.scalar(query)
        if job.status in (DONE, FAILED):
            session.commit()
            return job_id, False
        if job.status == QUEUED:
            job.status, job.started_at = RUNNING, now
            job.total = session.scalar(select(func.count()).where(Learner.company_id == company_id))
        if session.scalar(select(func.count()).select_from(JobPart).where(JobPart.job_id == job_id)) == 0:
            # ``job.cursor``: a job started before re-runs had parts resumes where it was.
            session.add_all(_parts(session, job, part_size))
        job.updated_at = now
        session.commit()
        return job_id, True


def _parts(session, job, part_size):
    """The job's learners (after its cursor) as id ranges of ``part_size``; the last one is open-ended."""
    ids = session.scalars(
        select(Learner.id)
        .where(Learner.company_id == job.company_id, Learner.id > (job.cursor or ""))
        .order_by(Learner.id)
    ).all()
    bounds = ids[part_size - 1 : -1 : part_size]
    lows = [job.cursor, *bounds]
    return [JobPart(job_id=job.id, after=low, until=high) for low, high in zip(lows, [*bounds, None], strict=True)]


def open_parts(session, job_id):
    """How many of the job's parts are not finished yet."""
    return session.scalar(
        select(func.count()).select_from(JobPart).where(JobPart.job_id == job_id, JobPart.finished_at.is_(None))
    )


def _claim(session, job_id, preferred):
    """An open part of the job that no other worker holds, locked for this transaction.

    ``preferred`` (the part this worker did its last batch on) first, so each worker
    keeps to its part; on PostgreSQL, parts another transaction holds are skipped.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    base = select(JobPart).where(JobPart.job_id == job_id, JobPart.finished_at.is_(None))
    for query in ([base.where(JobPart.id == preferred)] if preferred else []) + [base.order_by(JobPart.id).limit(1)]:
        query = query.execution_options(populate_existing=True)
        if postgres:
            query = query.with_for_update(skip_locked=True)
        part = session.scalar(query)
        if part is not None:
            return part
    return None


def next_batch(session, job, conditions, batch):
    """The next ``batch`` learners matching ``conditions`` after the job's cursor, in id order.

    Jobs walk learners by id so that a resumed job starts where the last batch ended
    (the recertification run; a re-run walks its parts with ``part_batch``).
    """
    return session.scalars(
        select(Learner).where(*conditions, Learner.id > (job.cursor or "")).order_by(Learner.id).limit(batch)
    ).all()


def part_batch(session, part, company_id, batch):
    """The next ``batch`` learners of the part after its cursor, in id order."""
    conditions = [Learner.company_id == company_id, Learner.id > (part.cursor or part.after or "")]
    if part.until is not None:
        conditions.append(Learner.id <= part.until)
    return session.scalars(select(Learner).where(*conditions).order_by(Learner.id).limit(batch)).all()


def work(session_factory, job_id, batch=BATCH, progress=None, parts=None):
    """Work through the job's open parts, a batch per transaction, until none is left to take.

    Every worker of a re-run runs this; each batch claims a part (see ``_claim``), so
    workers share the parts and a part is never worked on by two at once. Returns False
    when every part is finished or held by another worker (the worker that finishes the
    last part marks the job done), True when it stopped after finishing ``parts`` parts
    with work maybe left (the task's turn is over). Safe to call again, at any time.
    """
    preferred, finished = None, 0
    while True:
        with session_factory() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != RUNNING:  # failed meanwhile, or done
                return False
            if parts is not None and finished >= parts:
                session.commit()
                return True
            part = _claim(session, job_id, preferred)
            if part is None:
                session.commit()
                return False
            preferred = part.id
            company = session.get(Company, job.company_id)
            learners = part_batch(session, part, company.id, batch)
            now = utcnow()
            if not learners:
                part.finished_at = now
                _finish_if_last(session, job_id, now)
                session.commit()
                preferred, finished = None, finished + 1
                if progress:
                    progress(session.get(Job, job_id))
                continue
            added = 0
            with preloaded(session, learners):
                for learner in learners:
                    # The company's attribute mapping may have changed since the learner was
                    # written (the dashboard offers this re-run after a change): read it anew.
                    apply_to(learner, company.attribute_mapping)
                    outcome = reconcile(session, learner, company, now=now)
                    added += len(outcome["trainings_added"])
                    # The learner's trail says what the re-run moved (added, switched, withdrawn).
                    entry = run_entry(learner, outcome, "rerun", now)
                    if entry is not None:
                        session.add(entry)
            part.cursor = learners[-1].id
            part.done += len(learners)
            part.added += added
            # Last, so the job row (shared by every part) stays locked only until the commit.
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(done=Job.done + len(learners), added=Job.added + added, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            if progress:
                progress(session.get(Job, job_id))


def _finish_if_last(session, job_id, now):
    """Mark the job done if no other part is left; True if it did."""
    # Lock the job row: two parts ending at once are serialized, the second sees the first.
    query = select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    job = session.scalar(query)
    session.flush()
    left = session.scalar(
        select(func.count()).select_from(JobPart).where(JobPart.job_id == job_id, JobPart.finished_at.is_(None))
    )
    if left or job.status != RUNNING:
        return False
    job.finish(now)
    log.info(
        "Smart Assign re-run %s of company %s: %s learners, %s trainings added",
        job_id,
        job.company_id,
        job.done,
        job.added,
    )
    return True


def run(session_factory, company_id, job_id=None, batch=BATCH, progress=None, part_size=PART_SIZE):
    """Re-evaluate every learner of the company in this process; returns the job id. Safe to call again.

    Called by the operator's CLI (``workers.cli``) and tests: the parts the workers
    would share, worked through one after the other. ``progress(job)`` is called after
    every committed batch.
    """
    job_id, running = _start(session_factory, company_id, job_id, part_size, utcnow())
    if running:
        work(session_factory, job_id, batch, progress)
    return job_id


def fail(session_factory, company_id, job_id, message):
    """Mark the job failed with a message for the dashboard (never a traceback)."""
    if job_id is None:
        return
    with session_factory() as session:
        job = session.get(Job, job_id)
        if job is not None and job.company_id == company_id and job.status != DONE:
            now = utcnow()
            job.status, job.error, job.finished_at, job.updated_at = FAILED, message[:500], now, now
            session.commit()


def _guarded(task, company_id, job_id, work_):
    """Run ``work_()``, recording on the job row why it stopped (never a traceback)."""
    try:
        return work_()
    except JobFailed as exc:
        log.warning("Smart Assign re-run not started: %s", exc)
        return None
    except (IntegrityError, DBAPIError):
        # Transient (a concurrent worker, a dropped connection): Celery retries and we resume.
        if task.request.retries >= MAX_RETRIES:
            fail(sessions(), company_id, job_id, "The re-run stopped after repeated database errors; start it again.")
        raise
    except Exception:
        log.exception("Smart Assign re-run of company %s failed", company_id)
        fail(
            sessions(),
            company_id,
            job_id,
            "The re-run stopped on an internal error; start it again or contact support.",
        )
        raise


def _turn(job_id):
    """One turn of a re-run task: a part, then the next turn queued behind the other jobs' parts.

    Between two parts the worker goes back to the bulk queue, so another company's job
    (queued meanwhile) takes its turn. When the next turn cannot be queued, this task
    does the rest itself.
    """
    if work(sessions(), job_id, parts=PARTS_PER_TURN) and not next_turn(rerun_help, job_id):
        work(sessions(), job_id)


@app.task(name=RERUN_COMPANY, bind=True, **RETRY_POLICY)
def rerun_company(self, company_id, job_id=None):
    """Smart Assign for every learner of a company (after a rule or settings change).

    Cuts the job into parts and queues ``TURNS_AT_ONCE`` turns of it (this one counted):
    each does a part and queues its successor, so the job keeps that many bulk workers
    at most and alternates with other companies' jobs.
    """

    def start_and_work():
        started, running = _start(sessions(), company_id, job_id, PART_SIZE, utcnow())
        if running:
            with sessions()() as session:
                parts = open_parts(session, started)
            for _ in range(min(parts, TURNS_AT_ONCE) - 1):
                if not next_turn(rerun_help, started):
                    break
            _turn(started)
        return started

    return _guarded(self, company_id, job_id, start_and_work)


@app.task(name=RERUN_HELP, bind=True, **RETRY_POLICY)
def rerun_help(self, job_id):
    """One turn of a running company re-run (see ``_turn``); nothing to do once its parts are taken."""
    with sessions()() as session:
        job = session.get(Job, job_id)
        company_id = job.company_id if job else None
    if company_id is None:
        return None
    return _guarded(self, company_id, job_id, lambda: _turn(job_id))
