"""Activity › Admin changes: who changed which setting (before and after), and every run.

Settings changes come from ``service.company.settings_log``; runs are the company's
jobs (Smart Assign re-runs and the nightly recertification) with their counts. Two
bounded queries, newest first, whatever the company's size.
"""

from flask import g, render_template, request
from sqlalchemy import select

from models import Job
from models.job import RECERTIFY, RERUN_SMART_ASSIGN
from service import db
from service.company import settings_log
from service.dashboard.blueprint import bp

CHANGES_SHOWN = 100
RUNS_SHOWN = 30
RUN_KINDS = {RERUN_SMART_ASSIGN: "Smart Assign re-run", RECERTIFY: "Nightly recertification"}


def recent_runs(session, company_id, limit=RUNS_SHOWN):
    """The company's latest re-runs and nightly runs, newest first."""
    return session.scalars(
        select(Job)
        .where(Job.company_id == company_id, Job.kind.in_(tuple(RUN_KINDS)))
        .order_by(Job.id.desc())
        .limit(limit)
    ).all()


@bp.get("/activity/admin")
def admin_trail():
    """Settings changes (filterable by setting) and runs, newest first."""
    session = db.session()
    setting = request.args.get("setting", "")
    if setting not in settings_log.SETTINGS:
        setting = ""
    return render_template(
        "dashboard/admin_trail.html",
        changes=settings_log.recent(session, g.company.id, CHANGES_SHOWN, setting or None),
        runs=recent_runs(session, g.company.id),
        run_kinds=RUN_KINDS,
        settings=settings_log.SETTINGS,
        setting=setting,
    )
