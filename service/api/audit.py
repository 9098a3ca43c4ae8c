"""GET /api/v1/audit_events: the company's audit trail, newest first, optionally for one learner."""

from flask import jsonify
from marshmallow import fields, validate
from sqlalchemy import select

from models import AuditEvent
from service import db
from service.api import scope, serialize
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.pagination import page_of, paged_body
from service.api.params import PageArgs, capped_per_page, no_nul, query_args


class AuditArgs(PageArgs):
    """Query string of the audit trail."""

    learner_id = fields.String(validate=[validate.Length(min=1), no_nul])


@bp.get("/audit_events")
def list_audit_events():
    """One page of audit entries, newest change first; 404 for another company's learner."""
    args = query_args(AuditArgs())
    session = db.session()
    company_id = caller().company.id
    query = select(AuditEvent).where(AuditEvent.company_id == company_id)
    if "learner_id" in args:
        learner = scope.learner(session, company_id, args["learner_id"])
        query = query.where(AuditEvent.learner_id == learner.id)
    # By when the change happened, not when a worker recorded it: a retried event
    # is recorded late but belongs where it occurred. The id keeps pages stable.
    query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    per_page = capped_per_page(args)
    rows, total = page_of(session, query, args["page"], per_page)
    return jsonify(paged_body([serialize.audit_event(r) for r in rows], args["page"], per_page, total))
