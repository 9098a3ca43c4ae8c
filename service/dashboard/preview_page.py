"""Preview a Smart Assign change before making it: who would gain and lose which training.

The admin writes a change (industry, lead time, due period, alias, attribute mapping
source, group rule, catalog edit); the page stores it on a ``preview_smart_assign`` job
and queues the preview on a worker (``workers/preview_job.py``), polls its progress,
and shows the result with a sample of names and reasons. "Cancel" stops it between
batches; "Apply" makes the change (``service.company.apply_change``) and starts the
re-run, whose result is what the preview showed.
"""

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from models import Job, utcnow
from models.job import ACTIVE, CANCELLED, DONE, FAILED, PREVIEW_SMART_ASSIGN, QUEUED
from service import broker, db
from service.company.apply_change import ApplyError, apply
from service.dashboard.blueprint import bp
from service.dashboard.forms import ConfirmForm, PreviewForm
from service.dashboard.smart_assign import BROKER_DOWN, start_rerun

NOTHING = "Fill in at least one change to preview."


def described(spec):
    """The change in words, a line per part, for the page (the spec's keys: workers/preview_spec.py)."""
    lines = []
    if spec.get("industry") is not None:
        lines.append(f"Industry: {spec['industry'] or 'not set'}")
    if spec.get("lead_days") is not None:
        lines.append(f"Recertification lead time: {spec['lead_days']} days")
    if spec.get("due_days") is not None:
        lines.append(f"Due period: {spec['due_days']} days")
    lines += [f"Alias: {name} “{value}” reads as {to}" for name, value, to in spec.get("alias") or ()]
    words = {
        "source": "Attribute mapping: {} read from {}",
        "rule": "Group rule: members of “{}” get {}",
        "drop_rule": "Group rule removed: “{}” → {}",
        "add_training": "A training of your own: {} ({})",
        "cadence": "Cadence of {}: {} months (0: once)",
    }
    for key, text in words.items():
        lines += [text.format(*str(item).split("=", 1)) for item in spec.get(key) or ()]
    return lines


def _job(job_id):
    job = db.session().scalar(
        select(Job).where(Job.id == job_id, Job.company_id == g.company.id, Job.kind == PREVIEW_SMART_ASSIGN)
    )
    if job is None:
        abort(404)
    return job


@bp.get("/smart-assign/preview")
def preview_form(form=None, status=200):
    """The change to preview; the query string may fill it in (the doctor's "preview an alias" links)."""
    form = form or PreviewForm(formdata=request.args if request.args else None)
    return render_template("dashboard/preview.html", form=form, job=None), status


@bp.post("/smart-assign/preview")
def start_preview():
    """Queue the preview of the change written in the form; the page then polls it."""
    form = PreviewForm()
    if not form.validate():
        return preview_form(form, 400)
    spec = form.spec()
    if not spec:
        form.industry.errors = [NOTHING]
        return preview_form(form, 400)
    session, now = db.session(), utcnow()
    job = Job(
        company_id=g.company.id, kind=PREVIEW_SMART_ASSIGN, status=QUEUED, change=spec, created_at=now, updated_at=now
    )
    session.add(job)
    session.commit()
    if not broker.preview_change(job.id):
        job.status, job.error, job.finished_at = FAILED, BROKER_DOWN.replace("re-run", "preview"), utcnow()
        session.commit()
    return redirect(url_for("dashboard.preview_result", job_id=job.id))


@bp.get("/smart-assign/preview/<int:job_id>")
def preview_result(job_id):
    """The preview's progress, then who would gain and lose which training."""
    job = _job(job_id)
    return render_template("dashboard/preview.html", form=None, job=job, change=described(job.change or {}))


@bp.post("/smart-assign/preview/<int:job_id>/cancel")
def cancel_preview(job_id):
    """Stop a preview still running (the worker stops at its next batch)."""
    job = _job(job_id)
    if job.status in ACTIVE:
        job.status, job.finished_at, job.updated_at = CANCELLED, utcnow(), utcnow()
        db.session().commit()
        flash("Preview cancelled. Nothing was changed.", "info")
    return redirect(url_for("dashboard.preview_result", job_id=job_id))


@bp.post("/smart-assign/preview/<int:job_id>/apply")
def apply_preview(job_id):
    """Make the previewed change and start the re-run that carries it to every learner."""
    job = _job(job_id)
    if job.status != DONE or not ConfirmForm().validate():
        abort(409)
    session = db.session()
    try:
        apply(session, g.company, job.change or {}, g.admin.email)
    except ApplyError as exc:
        session.rollback()
        flash(f"The change was not saved: {exc}", "error")
        return redirect(url_for("dashboard.preview_result", job_id=job_id))
    session.commit()
    if start_rerun():
        flash("Change saved. The re-run now applies it to every learner.", "success")
    return redirect(url_for("dashboard.smart_assign") + "#rerun")
