"""Re-run Smart Assign over a whole company, in batches, with progress in the ``jobs`` table.

The dashboard creates a queued ``jobs`` row and enqueues ``herd.smart_assign.rerun_company``
with the company and job ids; the dashboard polls the row. Each batch of learners is
reconciled and the job's ``done``/``cursor`` advanced in one transaction, so a
redelivered task (worker killed, retry) resumes after the last committed batch and
the counts stay exact. ``reconcile`` is idempotent, so a batch run twice changes nothing.
"""

import logging
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from config.celery import RERUN_COMPANY
from models import Company, Job, Learner, utcnow
from models.job import ACTIVE, DONE, FAILED, QUEUED, RERUN_SMART_ASSIGN, RUNNING
from workers.celery_app import MAX_RETRIES, RETRY_POLICY, app, sessions
from workers.reconcile import reconcile

log = logging.getLogger(__name__)
BATCH = 200
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


def run(session_factory, company_id, job_id=None, batch=BATCH, progress=None):
    """Re-evaluate every learner of the company; returns the job id. Safe to call again.

    Called by the worker's task and by the operator's CLI (``workers.cli``);
    ``progress(job)`` is called after every committed batch and at the end.
    """
    now = utcnow()
    with session_factory() as session:
        if session.get(Company, company_id) is None:
            raise JobFailed(f"no company {company_id}")
        job = _job(session, company_id, job_id, now)
        job_id = job.id
        if job.status in (DONE, FAILED):
            session.commit()
            return job_id
        if job.status == QUEUED:
            job.status, job.started_at = RUNNING, now
            job.total = session.scalar(select(func.count()).where(Learner.company_id == company_id))
        job.updated_at = now
        session.commit()
    while True:
        with session_factory() as session:
            job = session.get(Job, job_id)
            company = session.get(Company, company_id)
            learners = session.scalars(
                select(Learner)
                .where(Learner.company_id == company_id, Learner.id > (job.cursor or ""))
                .order_by(Learner.id)
                .limit(batch)
            ).all()
            now = utcnow()
            if not learners:
                job.status, job.finished_at, job.updated_at = DONE, now, now
                # Learners created during the run are counted where they were met.
                job.total = max(job.total or 0, job.done)
                session.commit()
                if progress:
                    progress(job)
                log.info(
                    "Smart Assign re-run %s of company %s: %s learners, %s trainings added",
                    job_id,
                    company_id,
                    job.done,
                    job.added,
                )
                return job_id
            for learner in learners:
                job.added += len(reconcile(session, learner, company, now=now)["trainings_added"])
            job.done += len(learners)
            job.cursor = learners[-1].id
            job.updated_at = now
            session.commit()
            if progress:
                progress(job)


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


@app.task(name=RERUN_COMPANY, bind=True, **RETRY_POLICY)
def rerun_company(self, company_id, job_id=None):
    """Smart Assign for every learner of a company (after a rule or settings change)."""
    try:
        return run(sessions(), company_id, job_id)
    except JobFailed as exc:
        log.warning("Smart Assign re-run not started: %s", exc)
        return None
    except (IntegrityError, DBAPIError):
        # Transient (a concurrent worker, a dropped connection): Celery retries and we resume.
        if self.request.retries >= MAX_RETRIES:
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
