"""The dashboard's preview of a Smart Assign change, run as a job on a worker.

The dashboard stores the change (a spec, ``workers.preview_spec``) on a queued ``jobs``
row and enqueues ``herd.smart_assign.preview_change``; the page polls the row. The
preview (``workers.preview``) reads the company in a snapshot it rolls back; its
progress and, at the end, its document are written to the job row through a second
session. An admin who cancels sets the row's status to ``cancelled``: the preview reads
it between batches and stops there.
"""

import logging

from config.celery import PREVIEW_CHANGE
from models import Company, Job, utcnow
from models.job import CANCELLED, DONE, FAILED, PREVIEW_SMART_ASSIGN, QUEUED, RUNNING
from workers.celery_app import app, sessions
from workers.preview import preview
from workers.preview_spec import SpecError, change_of

log = logging.getLogger(__name__)


def _update(session_factory, job_id, **values):
    """Write ``values`` to the job row unless the admin cancelled it; returns the row's status."""
    with session_factory() as session:
        job = session.get(Job, job_id)
        if job is None:
            return CANCELLED
        if job.status != CANCELLED:
            for name, value in values.items():
                setattr(job, name, value)
            job.updated_at = utcnow()
        session.commit()
        return job.status


def run_preview(session_factory, job_id):
    """Preview the change stored on job ``job_id``, recording progress and the document on the row."""
    with session_factory() as session:
        job = session.get(Job, job_id)
        if job is None or job.kind != PREVIEW_SMART_ASSIGN or job.status != QUEUED:
            return None  # gone, cancelled, or a redelivered message of a preview already run
        company_id, spec = job.company_id, job.change or {}
    _update(session_factory, job_id, status=RUNNING, started_at=utcnow())
    with session_factory() as session:
        try:
            change = change_of(session, session.get(Company, company_id), spec)
        except SpecError as exc:
            _update(session_factory, job_id, status=FAILED, error=str(exc)[:500], finished_at=utcnow())
            return None
        session.rollback()
        state = {"status": RUNNING}

        def progress(done, total):
            state["status"] = _update(session_factory, job_id, done=done, total=total)

        document = preview(
            session, company_id, change, progress=progress, cancelled=lambda: state["status"] == CANCELLED
        )
    if document["cancelled"]:
        return None
    now = utcnow()
    _update(session_factory, job_id, status=DONE, result=document, total=document["learners"], finished_at=now)
    return job_id


@app.task(name=PREVIEW_CHANGE)
def preview_change(job_id):
    """Preview a Smart Assign change for the dashboard (read-only; a redelivered copy does nothing)."""
    try:
        return run_preview(sessions(), job_id)
    except Exception:
        log.exception("Smart Assign preview %s failed", job_id)
        _update(
            sessions(),
            job_id,
            status=FAILED,
            error="The preview stopped on an internal error; start it again.",
            finished_at=utcnow(),
        )
        return None
