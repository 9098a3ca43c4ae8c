"""/api/v1/webhooks: the company's webhook endpoints, their delivery log, replay and the test send."""

from datetime import UTC

from flask import jsonify
from marshmallow import Schema, fields, validate

from models import Company, utcnow
from service import current, db
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.errors import BadRequest, NotFound
from service.api.params import json_body, no_nul
from service.webhooks import endpoints as hooks

EVENT_NAMES = validate.OneOf(hooks.EVENT_TYPES)
MAX_ID = 2**31 - 1


class EndpointBody(Schema):
    """POST body: the receiver's URL and the event types it takes (default: every type)."""

    url = fields.String(required=True, validate=[validate.Length(min=1, max=2000), no_nul])
    events = fields.List(fields.String(validate=EVENT_NAMES), validate=validate.Length(max=len(hooks.EVENT_TYPES)))


class ReplayBody(Schema):
    """POST body of a range replay: every message sent to the endpoint from ``since`` until ``until``."""

    # Naive times are UTC; times with an offset are converted to UTC.
    since = fields.NaiveDateTime(required=True, timezone=UTC)
    until = fields.NaiveDateTime(load_default=None, timezone=UTC)


class DueSoonBody(Schema):
    """PUT body: days before a due date that assignment.due_soon is sent."""

    days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=hooks.DUE_SOON_DAYS_MAX))


def _endpoint(endpoint_id):
    try:
        return hooks.find_endpoint(db.session(), caller().company.id, endpoint_id if endpoint_id <= MAX_ID else 0)
    except hooks.NoSuchEndpoint as exc:
        raise NotFound(str(exc)) from None


@bp.get("/webhooks")
def list_webhooks():
    """The company's endpoints (never their secrets)."""
    rows = hooks.endpoints_of(db.session(), caller().company.id)
    return jsonify({"data": [hooks.describe(e) for e in rows]})


@bp.post("/webhooks")
def create_webhook():
    """A new endpoint; the answer holds its signing secret, which is never shown again."""
    body = json_body(EndpointBody(), '{"url": "https://hr.example.com/herd", "events": ["assignment.created"]}')
    session = db.session()
    try:
        endpoint, secret = hooks.create_endpoint(
            session, caller().company.id, body["url"], body.get("events", []), current.settings()
        )
    except hooks.WebhookError as exc:
        raise BadRequest(str(exc)) from None
    session.commit()
    return jsonify({**hooks.describe(endpoint), "secret": secret}), 201


@bp.get("/webhooks/<int:endpoint_id>")
def get_webhook(endpoint_id):
    """One endpoint."""
    return jsonify(hooks.describe(_endpoint(endpoint_id)))


@bp.post("/webhooks/<int:endpoint_id>/disable")
def disable_webhook(endpoint_id):
    """Stop deliveries; what is owed waits until the endpoint is enabled."""
    endpoint = _endpoint(endpoint_id)
    hooks.disable(endpoint)
    db.session().commit()
    return jsonify(hooks.describe(endpoint))


@bp.post("/webhooks/<int:endpoint_id>/enable")
def enable_webhook(endpoint_id):
    """Deliver again, starting with what is owed."""
    endpoint = _endpoint(endpoint_id)
    hooks.enable(db.session(), endpoint)
    db.session().commit()
    return jsonify(hooks.describe(endpoint))


@bp.get("/webhooks/<int:endpoint_id>/deliveries")
def list_deliveries(endpoint_id):
    """The endpoint's latest deliveries, newest first: status, attempts, latency, response code."""
    rows = hooks.delivery_log(db.session(), _endpoint(endpoint_id))
    return jsonify({"data": [hooks.describe_delivery(d, m) for d, m in rows]})


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
def replay_delivery(endpoint_id, delivery_id):
    """Send one delivery's message again (same webhook-id)."""
    endpoint = _endpoint(endpoint_id)
    try:
        count = hooks.replay_delivery(db.session(), endpoint, min(delivery_id, 2**62))
    except hooks.NoSuchEndpoint as exc:
        raise NotFound(str(exc)) from None
    db.session().commit()
    return jsonify({"replayed": count}), 202


@bp.post("/webhooks/<int:endpoint_id>/replay")
def replay_range(endpoint_id):
    """Send again every message the endpoint was sent in a time range (UTC)."""
    body = json_body(ReplayBody(), '{"since": "2026-12-01T00:00:00", "until": "2026-12-02T00:00:00"}')
    endpoint = _endpoint(endpoint_id)
    try:
        count = hooks.replay_range(db.session(), endpoint, body["since"], body.get("until") or utcnow())
    except hooks.WebhookError as exc:
        raise BadRequest(str(exc)) from None
    db.session().commit()
    return jsonify({"replayed": count}), 202


@bp.post("/webhooks/<int:endpoint_id>/test")
def test_webhook(endpoint_id):
    """Queue a ``webhook.test`` message to this endpoint."""
    sent = hooks.send_test(db.session(), _endpoint(endpoint_id))
    db.session().commit()
    return jsonify({"webhook_id": sent}), 202


@bp.put("/webhooks/due_soon")
def set_due_soon():
    """Days before a due date that assignment.due_soon is sent, for the whole company."""
    body = json_body(DueSoonBody(), '{"days": 7}')
    company = db.session().get(Company, caller().company.id)
    try:
        hooks.set_due_soon_days(company, body["days"])
    except hooks.WebhookError as exc:
        raise BadRequest(str(exc)) from None
    db.session().commit()
    return jsonify({"days": company.webhook_due_soon_days})
