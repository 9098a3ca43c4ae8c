"""Shared pieces of the IdP replay suites: vendor fixtures, groups on, and what Smart Assign did."""

import json
from pathlib import Path

from sqlalchemy import select

from models import AuditEvent, Learner, LearnerTraining

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCIM = "application/scim+json"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def fixture(vendor, name, **substitutions):
    """A vendor's documented payload; ``{placeholders}`` are filled in (ids known only at run time)."""
    text = (FIXTURES / vendor / name).read_text()
    for key, value in substitutions.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


def assert_scim(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith(SCIM)
    return resp.get_json()


def trainings(sessions, learner_id):
    """``{training_code: status}`` of a learner's assignments, as the worker left them."""
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner_id)).all()
        return {r.training_code: r.status for r in rows}


def learner_row(sessions, learner_id):
    with sessions() as s:
        row = s.get(Learner, learner_id)
        s.expunge(row)
        return row


def audit_actions(sessions, learner_id):
    with sessions() as s:
        return [
            a.action
            for a in s.scalars(
                select(AuditEvent).where(AuditEvent.learner_id == learner_id).order_by(AuditEvent.id)
            ).all()
        ]
