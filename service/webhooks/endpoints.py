"""Webhook endpoints of a company: create (the secret shown once), list, disable and enable,
the delivery log, replay and the test send. Shared by ``./herd webhooks``, the dashboard
(Settings > Integrations > Webhooks) and /api/v1/webhooks; callers commit.
"""

from datetime import datetime

from sqlalchemy import select

from models import Company, WebhookDelivery, WebhookEndpoint, WebhookMessage, utcnow
from models.webhook import EVENT_TYPES, PENDING, TEST_EVENT, url_problem, webhook_id
from models.webhook_outbox import timestamp, write
from models.webhook_secret import new_secret, seal

MAX_ENDPOINTS = 10
LOG_SIZE = 50
# At most this many deliveries are replayed by one request (the log's time range).
MAX_REPLAY = 10_000
DUE_SOON_DAYS_MAX = 90


class WebhookError(Exception):
    """A request about webhooks that cannot be met; the message is safe to show."""


class NoSuchEndpoint(WebhookError):
    """No endpoint (or delivery) with that id in this company."""


def parse_events(value):
    """Event types from a list or a comma-separated string; empty means every type."""
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise WebhookError("Give the event types as a list of names.")
    names = list(dict.fromkeys(i.strip() for i in items if i.strip()))
    unknown = [n for n in names if n not in EVENT_TYPES]
    if unknown:
        raise WebhookError(f"Unknown event type {unknown[0][:60]!r}; the types are {', '.join(EVENT_TYPES)}.")
    return names


def create_endpoint(session, company_id, url, events, settings):
    """A new endpoint: ``(endpoint, secret)``; the secret's plain text is never shown again."""
    if session.get(Company, company_id) is None:
        raise WebhookError(f"no company {company_id}")
    problem = url_problem(url, https_only=settings.is_production)
    if problem:
        raise WebhookError(problem)
    if len(endpoints_of(session, company_id)) >= MAX_ENDPOINTS:
        raise WebhookError(f"A company has at most {MAX_ENDPOINTS} webhook endpoints.")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        company_id=company_id,
        url=url,
        secret_sealed=seal(secret, settings.webhook_key),
        event_types=parse_events(events),
        enabled=True,
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def endpoints_of(session, company_id):
    """Every endpoint of the company, oldest first."""
    return session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.company_id == company_id).order_by(WebhookEndpoint.id)
    ).all()


def find_endpoint(session, company_id, endpoint_id):
    """The company's endpoint ``endpoint_id``, or NoSuchEndpoint."""
    endpoint = session.get(WebhookEndpoint, endpoint_id) if 0 < endpoint_id < 2**31 else None
    if endpoint is None or endpoint.company_id != company_id:
        raise NoSuchEndpoint(f"No webhook endpoint {endpoint_id} in this company.")
    return endpoint


def disable(endpoint, reason="Disabled by an admin."):
    """Stop deliveries to the endpoint; what is owed stays pending until it is enabled."""
    endpoint.enabled, endpoint.disabled_reason = False, reason


def enable(session, endpoint):
    """Deliver again, starting with what is owed, now."""
    endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, None, None
    for delivery in session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == PENDING)
    ):
        delivery.next_attempt_at = utcnow()


def describe(endpoint):
    """An endpoint as the API and the CLI show it (never its secret)."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.event_types or []) or list(EVENT_TYPES),
        "enabled": bool(endpoint.enabled),
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": timestamp(endpoint.failing_since),
        "created_at": timestamp(endpoint.created_at),
    }


def delivery_log(session, endpoint, limit=LOG_SIZE):
    """The endpoint's latest deliveries, newest first: ``[(delivery, message)]``."""
    return session.execute(
        select(WebhookDelivery, WebhookMessage)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ).all()


def describe_delivery(delivery, message):
    """One line of the delivery log: status, latency and response code."""
    return {
        "id": delivery.id,
        "webhook_id": message.webhook_id,
        "event": message.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_code": delivery.response_code,
        "latency_ms": delivery.latency_ms,
        "error": delivery.last_error,
        "created_at": timestamp(delivery.created_at),
        "last_attempt_at": timestamp(delivery.last_attempt_at),
        "next_attempt_at": timestamp(delivery.next_attempt_at) if delivery.status == PENDING else None,
    }


def _again(session, endpoint, message_ids, now):
    # A replay is a new delivery of the same message (same webhook-id), after what is owed.
    session.add_all(
        WebhookDelivery(endpoint_id=endpoint.id, message_id=m, next_attempt_at=now, created_at=now) for m in message_ids
    )
    session.flush()
    return len(message_ids)


def replay_delivery(session, endpoint, delivery_id):
    """Send one delivery's message again to its endpoint; 1."""
    delivery = session.get(WebhookDelivery, delivery_id) if 0 < delivery_id < 2**62 else None
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NoSuchEndpoint(f"No delivery {delivery_id} for this endpoint.")
    return _again(session, endpoint, [delivery.message_id], utcnow())


def replay_range(session, endpoint, since, until):
    """Send again every message the endpoint was sent between ``since`` and ``until``; how many."""
    if not (isinstance(since, datetime) and isinstance(until, datetime)) or since >= until:
        raise WebhookError("Give a time range whose start is before its end.")
    ids = session.scalars(
        select(WebhookDelivery.message_id)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.created_at >= since,
            WebhookDelivery.created_at < until,
        )
        .distinct()
        .order_by(WebhookDelivery.message_id)
        .limit(MAX_REPLAY)
    ).all()
    return _again(session, endpoint, list(ids), utcnow())


def send_test(session, endpoint):
    """A ``webhook.test`` message to this endpoint only (whatever it subscribes to); its webhook-id."""
    now = utcnow()
    body = {"type": TEST_EVENT, "timestamp": timestamp(now), "data": {"endpoint_id": endpoint.id}}
    return webhook_id(write(session, endpoint.company_id, TEST_EVENT, body, [endpoint], now=now))


def set_due_soon_days(company, days):
    """The lead time of assignment.due_soon, in days (1 to 90)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= DUE_SOON_DAYS_MAX:
        raise WebhookError(f"Give the due_soon lead time as 1 to {DUE_SOON_DAYS_MAX} days.")
    company.webhook_due_soon_days = days
