"""GET /api/v1/reports/compliance (JSON) and /api/v1/reports/compliance.csv (streamed export)."""

from flask import Response, jsonify

from models import utcnow
from service import db
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.params import PageArgs, capped_per_page, query_args
from service.api.serialize import timestamp
from service.reports.compliance import learner_page, summary
from service.reports.csv_export import filename, stream


def _dates(item):
    return {k: timestamp(v) if hasattr(v, "isoformat") else v for k, v in item.items()}


@bp.get("/reports/compliance")
def compliance_report():
    """Counts by training and region (assigned, in progress, overdue, completed and valid, expired),
    and one page of learners with the status of every training they owe."""
    args = query_args(PageArgs())  # the page of learners
    per_page = capped_per_page(args)
    session, company_id, now = db.session(), caller().company.id, utcnow()
    report = summary(session, company_id, now)
    learners = learner_page(session, company_id, now, args["page"], per_page)
    return jsonify(
        {
            **report,
            "as_of": timestamp(report["as_of"]),
            "learners": {
                "page": args["page"],
                "per_page": per_page,
                "data": [{**learner, "trainings": [_dates(t) for t in learner["trainings"]]} for learner in learners],
            },
        }
    )


@bp.get("/reports/compliance.csv")
def compliance_csv():
    """Every learner's row per training owed, as CSV, streamed (constant memory for any company size)."""
    company_id, now = caller().company.id, utcnow()
    sessions = db.session_factory()
    return Response(
        stream(sessions, company_id, now),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(company_id, now)}"',
            "Cache-Control": "no-store",
        },
    )
