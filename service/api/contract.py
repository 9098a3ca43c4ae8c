"""The shapes /api/v1 answers with and the webhook payloads, as marshmallow schemas.

The routes validate what they receive with their own schemas (query strings and bodies);
these describe what they send, so the OpenAPI document (service/api/openapi.py) covers
both directions and Schemathesis can check every answer against it.
"""

from marshmallow import INCLUDE, Schema, fields

from models.webhook import EVENT_TYPES, TEST_EVENT

_STAMP = {"metadata": {"format": "date-time"}}


def _text(**kw):
    return fields.String(allow_none=True, **kw)


def _stamp():
    return fields.String(allow_none=True, **_STAMP)


class Error(Schema):
    """Every /api/v1 error: one readable sentence."""

    error = fields.String(required=True)


class PageMeta(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


class Learner(Schema):
    id = fields.String(required=True)
    user_name = fields.String(required=True)
    display_name = _text()
    given_name = _text()
    family_name = _text()
    email = _text()
    active = fields.Boolean(required=True)
    deleted = fields.Boolean(required=True)
    region = _text()
    country = _text()
    location = _text()
    role = _text()
    training_tags = fields.List(fields.String(), required=True)
    created_at = _stamp()
    updated_at = _stamp()


class LearnerPage(Schema):
    data = fields.List(fields.Nested(Learner), required=True)
    meta = fields.Nested(PageMeta, required=True)


class LearnerTraining(Schema):
    id = fields.Integer(required=True)
    learner_id = fields.String(required=True)
    training_code = fields.String(required=True)
    training_title = _text()
    status = fields.String(required=True)
    progress = fields.Integer(required=True)
    assigned_at = _stamp()
    due_at = _stamp()
    completed_at = _stamp()
    cycle = fields.Integer(required=True)
    reason = _text()


class LearnerTrainingList(Schema):
    data = fields.List(fields.Nested(LearnerTraining), required=True)


class Training(Schema):
    code = fields.String(required=True)
    title = fields.String(required=True)
    family = fields.String(required=True)
    region = _text()
    audience = fields.Raw(allow_none=True)
    cadence_months = fields.Integer(allow_none=True)
    due_days = fields.Integer(allow_none=True)


class TrainingList(Schema):
    data = fields.List(fields.Nested(Training), required=True)


class AuditEvent(Schema):
    id = fields.Integer(required=True)
    occurred_at = _stamp()
    action = fields.String(required=True)
    token_name = _text()
    resource_type = _text()
    learner_id = _text()
    changes = fields.Dict(required=True)
    outcome = fields.Dict(required=True)


class AuditPage(Schema):
    data = fields.List(fields.Nested(AuditEvent), required=True)
    meta = fields.Nested(PageMeta, required=True)


class ReportLearners(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    data = fields.List(fields.Dict(), required=True)


class ComplianceReport(Schema):
    """Counts by training and region, and one page of learners."""

    class Meta:
        unknown = INCLUDE  # the counts' breakdowns may gain keys

    as_of = _stamp()
    learner_count = fields.Integer(required=True)
    totals = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    by_training = fields.List(fields.Dict(), required=True)
    by_region = fields.List(fields.Dict(), required=True)
    learners = fields.Nested(ReportLearners, required=True)


class SmartAssignCoverage(Schema):
    """The Smart Assign doctor: each input's coverage, every unrecognised value, the fixes."""

    class Meta:
        unknown = INCLUDE  # per-input breakdowns may gain keys

    company_id = fields.Integer(required=True)
    active_learners = fields.Integer(required=True)
    complete = fields.Boolean(required=True)
    inputs = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)
    unrecognised_values = fields.List(fields.Dict(), required=True)
    fixes = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)
    idps = fields.List(fields.String(), required=True)


class Webhook(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = _text()
    failing_since = _stamp()
    created_at = _stamp()


class NewWebhook(Webhook):
    secret = fields.String(required=True, metadata={"description": "The signing secret (whsec_...), shown once."})


class WebhookList(Schema):
    data = fields.List(fields.Nested(Webhook), required=True)


class Delivery(Schema):
    id = fields.Integer(required=True)
    webhook_id = fields.String(required=True)
    event = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    response_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer(allow_none=True)
    error = _text()
    created_at = _stamp()
    last_attempt_at = _stamp()
    next_attempt_at = _stamp()


class DeliveryList(Schema):
    data = fields.List(fields.Nested(Delivery), required=True)


class Replayed(Schema):
    replayed = fields.Integer(required=True)


class TestSent(Schema):
    webhook_id = fields.String(required=True)


class DueSoon(Schema):
    days = fields.Integer(required=True)


# The webhook payloads (Standard Webhooks: type, timestamp, data).


class EventLearner(Schema):
    id = fields.String(required=True)
    external_id = _text()
    user_name = fields.String(required=True)
    display_name = _text()
    email = _text()
    active = fields.Boolean(required=True)


class EventTraining(Schema):
    assignment_id = fields.Integer(required=True)
    code = fields.String(required=True)
    title = _text()
    status = fields.String(required=True)
    progress = fields.Integer(required=True)
    cycle = fields.Integer(required=True)
    assigned_at = _stamp()
    due_at = _stamp()
    completed_at = _stamp()


class EventData(Schema):
    learner = fields.Nested(EventLearner, required=True)
    managers = fields.List(
        fields.Nested(EventLearner),
        required=True,
        metadata={"description": "The learner's managers (enterprise manager), nearest first."},
    )
    reason = _text()
    training = fields.Nested(EventTraining, metadata={"description": "assignment.* events only."})


class Event(Schema):
    """One webhook: signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature)."""

    type = fields.String(required=True, metadata={"enum": [*EVENT_TYPES, TEST_EVENT]})
    timestamp = fields.String(required=True, **_STAMP)
    data = fields.Nested(EventData, required=True)
