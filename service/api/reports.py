"""GET /api/v1/reports/compliance (JSON, ?manager= for a chain), /api/v1/reports/compliance.csv (streamed export)
and /api/v1/reports/smart_assign_coverage (the Smart Assign doctor)."""

from flask import Response, jsonify
from marshmallow import Schema, fields, validate

from models import utcnow
from service import db
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.errors import NotFound
from service.api.params import PageArgs, capped_per_page, no_nul, query_args
from service.api.serialize import timestamp
from service.reports.compliance import learner_page, summary
from service.reports.csv_export import filename, stream
from service.reports.manager_chain import below, by_manager, is_learner
from service.reports.smart_assign_coverage import coverage


class ManagerArgs(Schema):
    """``manager``: a learner id, whose whole chain below the report covers; ``group_by=manager``."""

    manager = fields.String(validate=[validate.Length(min=1, max=36), no_nul])
    group_by = fields.String(validate=validate.OneOf(["manager"]))


class ComplianceArgs(PageArgs, ManagerArgs):
    """A page of the compliance report, optionally one manager's chain."""


def _within(session, company_id, args):
    """The chain below ``?manager=`` (a SELECT of ids), None without it; 404 for no such learner."""
    manager = args.get("manager")
    if manager is None:
        return None
    if not is_learner(session, company_id, manager):
        raise NotFound(f"No learner {manager} in this company to filter by.")
    return below(company_id, manager)


def _dates(item):
    return {k: timestamp(v) if hasattr(v, "isoformat") else v for k, v in item.items()}


@bp.get("/reports/compliance")
def compliance_report():
    """Counts by training and region (assigned, in progress, overdue, completed and valid, expired),
    and one page of learners with the status of every training they owe."""
    args = query_args(ComplianceArgs())  # the page of learners, a manager's chain
    per_page = capped_per_page(args)
    session, company_id, now = db.session(), caller().company.id, utcnow()
    within = _within(session, company_id, args)
    report = summary(session, company_id, now, within)
    learners = learner_page(session, company_id, now, args["page"], per_page, within)
    if args.get("group_by") == "manager":
        report["by_manager"] = by_manager(session, company_id, now, within)
    return jsonify(
        {
            **report,
            "manager": args.get("manager"),
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
    """Every learner's row per training owed, as CSV, streamed (constant memory for any company size);
    ``?manager=`` keeps the chain below one manager."""
    args = query_args(ManagerArgs())
    company_id, now = caller().company.id, utcnow()
    within = _within(db.session(), company_id, args)
    sessions = db.session_factory()
    return Response(
        stream(sessions, company_id, now, within),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(company_id, now)}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/reports/smart_assign_coverage")
def smart_assign_coverage():
    """The Smart Assign doctor: each input's share resolved among active learners, every
    unrecognised value with its count and source, what those learners got instead, and the fixes."""
    return jsonify(coverage(db.session(), caller().company.id))
