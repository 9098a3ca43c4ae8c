"""Time drives Smart Assign too: the daily recertification and overdue run.

Nothing in a SCIM event tells Herd that a completion is about to expire or
that a due date passed. Every reconcile therefore stores on the learner the
earliest moment it next needs Smart Assign without any change
(``learners.review_at``: a due date, or a completion's expiry minus the
company's lead time; see ``smart_assign.plan``). The daily task selects, in
SQL and through the ``(company_id, review_at, id)`` index, only the learners
whose moment has come, and reconciles them in batches: the planner assigns
the next cycle (due at the expiry) and marks work past its due date
``overdue``. Learners with nothing due are never read.

The daily task queues one ``recertify_company`` per company with learners due; each
does a turn of ``BATCHES_PER_TURN`` batches and queues its next turn at the back of the
bulk queue, so the companies are worked through in turns, not one after another.

Like the re-run, each batch and the job's cursor and counts commit together,
so a redelivered task resumes after the last committed batch; reconcile is
idempotent, so a batch run twice changes nothing.

Time never runs backwards: a run "as of" a day (``--as-of``) earlier than
the stored state (the company's ``recertified_through``, or a learner's
latest recorded change) runs as of that later moment instead.
"""

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from config.celery import RECERTIFY_ALL, RECERTIFY_COMPANY
from models import Company, Job, Learner, LearnerTraining, utcnow
from models.company_training import company_catalog
from models.job import ACTIVE, DONE, QUEUED, RECERTIFY, RUNNING
from workers.celery_app import RETRY_POLICY, app, sessions
from workers.reconcile import reconcile, run_entry
from workers.rerun import next_batch
from workers.turns import next_turn

log = logging.getLogger(__name__)
BATCH = 500
# Batches per turn of ``recertify_company``: one batch of 500 due learners is one to five
# seconds of one worker's time (more when many get their next cycle).
BATCHES_PER_TURN = 1
# A task redelivered after a worker died adopts the company's unfinished run younger than this.
ADOPT_WITHIN = timedelta(hours=12)


class NoSuchCompany(Exception):
    """The company to recertify does not exist."""


def moment_of(as_of, now):
    """The datetime a run "as of" a day uses: that day at the current time of day (now if None)."""
    if as_of is None:
        return now
    if isinstance(as_of, datetime):
        return as_of
    return datetime.combine(as_of, now.time())


def due_filter(company_id, moment):
    """The SQL condition that selects a company's learners due for review at ``moment``."""
    return (Learner.company_id == company_id, Learner.review_at.is_not(None), Learner.review_at <= moment)


def count_due(session, company_id, moment):
    """How many learners of the company are due for review at ``moment`` (one indexed range count)."""
    return session.scalar(select(func.count()).select_from(Learner).where(*due_filter(company_id, moment)))


def _job(session, company, moment, job_id, now):
    """The run to report on: the given job, the company's unfinished one, or a new one."""
    if job_id is not None:
        job = session.get(Job, job_id)
        if job is not None and job.company_id == company.id:
            return job
    job = session.scalar(
        select(Job)
        .where(
            Job.company_id == company.id,
            Job.kind == RECERTIFY,
            Job.status.in_(ACTIVE),
            Job.created_at > now - ADOPT_WITHIN,
        )
        .order_by(Job.id.desc())
        .limit(1)
    )
    if job is not None and (job.as_of is None or job.as_of.date() != moment.date()):
        job = None  # an unfinished run as of another day: this one starts afresh
    if job is None:
        job = Job(company_id=company.id, kind=RECERTIFY, status=QUEUED, as_of=moment, created_at=now, updated_at=now)
        session.add(job)
        session.flush()
    return job


def _latest_changes(session, ids):
    """{learner id: latest updated_at of its assignments}: nothing is recorded before it."""
    rows = session.execute(
        select(LearnerTraining.learner_id, func.max(LearnerTraining.updated_at))
        .where(LearnerTraining.learner_id.in_(ids))
        .group_by(LearnerTraining.learner_id)
    )
    return dict(rows.all())


def run(session_factory, company_id, as_of=None, job_id=None, batch=BATCH, progress=None, batches=None):
    """Recertify one company as of a day (default now); return the job. Safe to call again.

    With ``batches``, stop after that many committed batches and return the job still
    running (a turn, see ``recertify_company``); without, return it finished.
    ``progress(n)`` is called after each committed batch with the learners it handled.
    """
    now = utcnow()
    with session_factory() as session:
        company = session.get(Company, company_id)
        if company is None:
            raise NoSuchCompany(f"no company {company_id}")
        moment = moment_of(as_of, now)
        if company.recertified_through and company.recertified_through > moment:
            moment = company.recertified_through
        job = _job(session, company, moment, job_id, now)
        if job.status == QUEUED:
            job.status, job.started_at = RUNNING, now
            job.total = count_due(session, company_id, job.as_of)
        job.updated_at = now
        session.commit()
        job_id, moment = job.id, job.as_of
    done_batches = 0
    while True:
        with session_factory() as session:
            job = session.get(Job, job_id)
            if job.status == DONE or (batches is not None and done_batches >= batches):
                return job
            company = session.get(Company, company_id)
            learners = next_batch(session, job, due_filter(company_id, moment), batch)
            now = utcnow()
            if not learners:
                job.finish(now)
                if company.recertified_through is None or company.recertified_through < moment:
                    company.recertified_through = moment
                session.commit()
                log.info(
                    "recertification of company %s as of %s: %s learners, %s added, %s overdue",
                    company_id,
                    moment.date(),
                    job.done,
                    job.added,
                    job.overdue,
                )
                return job
            catalog = company_catalog(session, company_id)
            latest = _latest_changes(session, [learner.id for learner in learners])
            for learner in learners:
                at = max(moment, latest.get(learner.id) or moment)
                outcome = reconcile(session, learner, company, now=at, catalog=catalog)
                added, overdue = len(outcome["trainings_added"]), len(outcome.get("overdue", ()))
                job.added += added
                job.overdue += overdue
                entry = run_entry(learner, outcome, "recertify", now, occurred_at=at)
                if entry is not None:
                    session.add(entry)
            job.done += len(learners)
            job.cursor = learners[-1].id
            job.updated_at = now
            session.commit()
        done_batches += 1
        if progress is not None:
            progress(len(learners))


def companies_due(session, moment):
    """Ids of the companies with at least one learner due at ``moment``."""
    return [
        company_id
        for company_id in session.scalars(select(Company.id).order_by(Company.id))
        if session.scalar(select(Learner.id).where(*due_filter(company_id, moment)).limit(1)) is not None
    ]


@app.task(name=RECERTIFY_COMPANY, bind=True, **RETRY_POLICY)
def recertify_company(self, company_id, as_of=None, job_id=None):
    """Recertification and overdue marking for one company (``as_of``: ISO date, default today).

    One turn: ``BATCHES_PER_TURN`` batches, then the next turn goes to the back of the bulk
    queue (``workers.turns``), behind the other companies' turns, so the nightly run goes
    through the companies in turns and live work never waits for it.
    """
    day = date.fromisoformat(as_of) if as_of else None
    try:
        job = run(sessions(), company_id, day, job_id=job_id, batches=BATCHES_PER_TURN)
        if job.status != DONE and not next_turn(recertify_company, company_id, as_of, job_id=job.id):
            job = run(sessions(), company_id, day, job_id=job.id)
    except NoSuchCompany as exc:
        log.warning("recertification not started: %s", exc)
        return None
    return {"job": job.id, "added": job.added, "overdue": job.overdue, "done": job.status == DONE}


@app.task(name=RECERTIFY_ALL, acks_late=True)
def recertify_all():
    """Beat, daily: hand each company with learners due today to ``recertify_company``."""
    with sessions()() as session:
        ids = companies_due(session, utcnow())
    for company_id in ids:
        recertify_company.delay(company_id)
    return len(ids)
