"""A learner's assignments: list, read, and record progress or completion as a course player does."""

from flask import jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from models import Learner, LearnerTraining, utcnow
from models.webhook_outbox import note
from service import db
from service.api import scope, serialize
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.errors import BadRequest, NotFound
from service.api.params import json_body, no_nul, query_args
from service.api.progress import COMPLETED, STATUSES, apply_progress

# learner_trainings.id is a 32-bit integer; a larger id cannot exist (and SQLite cannot bind it).
MAX_ID = 2**31 - 1


class ListArgs(Schema):
    """Query string of the assignment list."""

    learner_id = fields.String(required=True, validate=[validate.Length(min=1), no_nul])


class ProgressBody(Schema):
    """PATCH body: the course player's report."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    progress = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))


@bp.get("/learner_trainings")
def list_learner_trainings():
    """Every assignment of one learner of the company, oldest first."""
    args = query_args(ListArgs())
    session = db.session()
    company_id = caller().company.id
    learner = scope.learner(session, company_id, args["learner_id"])
    rows = session.scalars(
        select(LearnerTraining)
        .where(LearnerTraining.company_id == company_id, LearnerTraining.learner_id == learner.id)
        .order_by(LearnerTraining.assigned_at, LearnerTraining.id)
    ).all()
    return jsonify({"data": [serialize.learner_training(r) for r in rows]})


@bp.get("/learner_trainings/<int:assignment_id>")
def get_learner_training(assignment_id):
    """One assignment of the company."""
    row = _assignment(db.session(), assignment_id)
    return jsonify(serialize.learner_training(row))


@bp.patch("/learner_trainings/<int:assignment_id>")
def patch_learner_training(assignment_id):
    """Record progress or completion; 409 when the assignment's state forbids the change."""
    body = json_body(ProgressBody(), '{"status": "completed"} or {"progress": 40}')
    if not body:
        raise BadRequest("Send 'status' and/or 'progress', for example {\"progress\": 40}.")
    session = db.session()
    # Locked so that a worker archiving or retargeting it cannot interleave with this write.
    row = _assignment(session, assignment_id, lock=True)
    was = row.status
    apply_progress(row, body.get("status"), body.get("progress"), utcnow())
    if row.status == COMPLETED and was != COMPLETED:
        # The webhook event is written with the completion, in this transaction.
        note(session, row.company_id, "assignment.completed", session.get(Learner, row.learner_id), row)
    session.commit()
    return jsonify(serialize.learner_training(row))


def _assignment(session, assignment_id, lock=False):
    if assignment_id > MAX_ID:
        raise _not_found(assignment_id)
    query = select(LearnerTraining).where(
        LearnerTraining.id == assignment_id, LearnerTraining.company_id == caller().company.id
    )
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise _not_found(assignment_id)
    return row


def _not_found(assignment_id):
    # Same answer for an unknown id and another company's: nothing is revealed.
    return NotFound(f"No learner training with id {assignment_id} in your company.")
