"""Webhook delivery on the ``webhooks`` queue: one endpoint at a time, in order, at least once.

``deliver_endpoint`` takes an endpoint's lease (one worker at a time, so a learner's
events arrive in the order they happened), then sends its due deliveries oldest first,
each signed with the Standard Webhooks library and posted through the SSRF-safe
transport outside any transaction. A failure stops the endpoint's run and schedules the
delivery again with exponential backoff; after three days of failures the endpoint is
disabled with the reason shown to the admin. A worker killed mid-delivery leaves the
delivery pending and the lease to expire: the beat's ``dispatch`` sends it again with the
same ``webhook-id``. ``due_soon`` writes assignment.due_soon events at each company's lead time.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

from celery.signals import worker_init
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from standardwebhooks.webhooks import Webhook

from config.celery import WEBHOOK_DELIVER, WEBHOOK_DISPATCH, WEBHOOK_DUE_SOON
from models import Company, Learner, LearnerTraining, utcnow
from models import webhook_outbox as outbox
from models.unreachable import is_unreachable
from models.webhook import DELIVERED, PENDING, WebhookDelivery, WebhookEndpoint, WebhookMessage
from models.webhook_secret import unseal
from workers import webhook_transport
from workers.celery_app import app, sessions, settings

log = logging.getLogger(__name__)
# The lease an endpoint's run holds, renewed with every delivery it records (WEBHOOK_LEASE_SECONDS).
LEASE = timedelta(seconds=60)
# Retry n waits BACKOFF_BASE * 2**(n-1), at most BACKOFF_MAX: about twenty tries in three days.
BACKOFF_BASE, BACKOFF_MAX = timedelta(seconds=5), timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=3)
# Deliveries one task sends before handing over to a fresh task (others get the worker too).
RUN_LIMIT = 200
# Pending deliveries read at once (each is still recorded in its own transaction).
READ_AHEAD = 50
OPEN = ("assigned", "in_progress")


def backoff(attempts):
    """How long to wait before the next attempt after ``attempts`` failed ones."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def signed_headers(secret, message, now):
    """The Standard Webhooks headers and body of ``message``, signed by the library at ``now`` (aware)."""
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True)
    signature = Webhook(secret).sign(message.webhook_id, now, body)
    headers = {
        "content-type": "application/json",
        "user-agent": "Herd-Webhooks/1",
        "webhook-id": message.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body, headers


def claim(session_factory, endpoint_id, now, lease=LEASE):
    """Take the endpoint's lease: the moment it runs until, or None when another run holds it
    (or the endpoint is disabled)."""
    until = now + lease
    with session_factory() as session:
        taken = session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id == endpoint_id,
                WebhookEndpoint.enabled.is_(True),
                or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < now),
            )
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
    return until if taken == 1 else None


def release(session_factory, endpoint_id, until):
    """Give the lease back, unless another run took it over meanwhile (ours had expired)."""
    with session_factory() as session:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.lease_until == until)
            .values(lease_until=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def _due(session, endpoint_id, limit=READ_AHEAD):
    """The endpoint's next pending deliveries with their messages, oldest first."""
    return session.execute(
        select(WebhookDelivery.id, WebhookDelivery.next_attempt_at, WebhookMessage)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == PENDING)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    ).all()


def _record(session, endpoint, delivery, outcome, now):
    """Write one attempt's outcome on the delivery (and the endpoint's failing state)."""
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_code = outcome.status
    delivery.latency_ms = outcome.latency_ms
    delivery.response_excerpt = outcome.excerpt
    delivery.last_error = outcome.error
    if outcome.ok:
        delivery.status, delivery.delivered_at = DELIVERED, now
        endpoint.failing_since = None
        return
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since >= GIVE_UP_AFTER:
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"Disabled on {now:%Y-%m-%d %H:%M} UTC: deliveries failed for three days "
            f"(last: {outcome.error or 'no answer'}). Fix the receiver, then enable it again."
        )[:300]
        log.warning("webhook endpoint %s disabled after three days of failures", endpoint.id)


def drain(
    session_factory, endpoint_id, key, allow_private=False, https_only=True, now_fn=utcnow, limit=RUN_LIMIT, lease=LEASE
):
    """Send the endpoint's due deliveries in order until one fails or none is due; how many were sent.

    Returns -1 when another run holds the endpoint's lease (it sends them instead).
    """
    until = claim(session_factory, endpoint_id, now_fn(), lease)
    if until is None:
        return -1
    sent = 0
    try:
        while sent < limit:
            with session_factory() as session:
                endpoint = session.get(WebhookEndpoint, endpoint_id)
                batch = _due(session, endpoint_id) if endpoint.enabled else []
                url, secret = endpoint.url, unseal(endpoint.secret_sealed, key)
            if not batch:
                break
            for delivery_id, next_attempt_at, message in batch:
                if next_attempt_at > now_fn() or sent >= limit:
                    return sent  # the oldest waits for its retry: nothing overtakes it
                # Signed at the wall clock's time: receivers check it against theirs.
                body, headers = signed_headers(secret, message, datetime.now(UTC))
                # No transaction is open while the receiver answers.
                outcome = webhook_transport.post(url, body, headers, allow_private, https_only)
                with session_factory() as session:
                    endpoint = session.get(WebhookEndpoint, endpoint_id)
                    _record(session, endpoint, session.get(WebhookDelivery, delivery_id), outcome, now_fn())
                    endpoint.lease_until = until = now_fn() + lease
                    session.commit()
                if not outcome.ok or not endpoint.enabled:
                    return sent
                sent += 1
    finally:
        release(session_factory, endpoint_id, until)
    return sent


def due_endpoints(session, now):
    """Ids of enabled, unleased endpoints with a delivery due."""
    due = exists().where(
        WebhookDelivery.endpoint_id == WebhookEndpoint.id,
        WebhookDelivery.status == PENDING,
        WebhookDelivery.next_attempt_at <= now,
    )
    return session.scalars(
        select(WebhookEndpoint.id)
        .where(
            WebhookEndpoint.enabled.is_(True),
            or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < now),
            due,
        )
        .order_by(WebhookEndpoint.id)
    ).all()


def write_due_soon(session, now):
    """assignment.due_soon for open assignments due within their company's lead time, once per
    assignment and due date; returns how many were written (the caller commits)."""
    written = 0
    company_ids = session.scalars(
        select(WebhookEndpoint.company_id).where(WebhookEndpoint.enabled.is_(True)).distinct()
    ).all()
    for company_id in company_ids:
        endpoints = outbox.endpoints_of(session, company_id)
        if not any(e.receives("assignment.due_soon") for e in endpoints):
            continue
        company = session.get(Company, company_id)
        horizon = now + timedelta(days=company.webhook_due_soon_days)
        rows = session.execute(
            select(LearnerTraining, Learner)
            .join(Learner, and_(Learner.id == LearnerTraining.learner_id, Learner.deleted_at.is_(None)))
            .where(
                LearnerTraining.company_id == company_id,
                LearnerTraining.status.in_(OPEN),
                LearnerTraining.due_at > now,
                LearnerTraining.due_at <= horizon,
            )
            .order_by(LearnerTraining.due_at, LearnerTraining.id)
        ).all()
        for row, learner in rows:
            key = f"due_soon:{row.id}:{row.due_at:%Y%m%d}"
            if session.scalar(select(WebhookMessage.id).where(WebhookMessage.dedupe_key == key)) is not None:
                continue
            body = outbox.payload(session, "assignment.due_soon", learner, row, None, now)
            if outbox.write(session, company_id, "assignment.due_soon", body, endpoints, key, now) is not None:
                written += 1
    return written


@app.task(name=WEBHOOK_DELIVER, acks_late=True)
def deliver_endpoint(endpoint_id):
    """Send one endpoint's due deliveries (see ``drain``); hands over to a new task when more remain."""
    try:
        sent = drain(
            sessions(),
            endpoint_id,
            settings.webhook_key,
            allow_private=settings.webhooks_allow_private,
            https_only=settings.is_production,
            lease=timedelta(seconds=settings.webhook_lease_seconds),
        )
    except SQLAlchemyError as exc:
        if not _database_away(exc, "webhook delivery"):
            raise
        return 0  # what is due stays due: the beat's dispatch sends it again
    if sent == RUN_LIMIT:
        deliver_endpoint.delay(endpoint_id)
    return sent


@app.task(name=WEBHOOK_DISPATCH, acks_late=True)
def dispatch():
    """Beat: every endpoint with a delivery due gets a ``deliver_endpoint`` task."""
    try:
        with sessions()() as session:
            ids = due_endpoints(session, utcnow())
    except SQLAlchemyError as exc:
        if not _database_away(exc, "webhook dispatch"):
            raise
        return 0
    for endpoint_id in ids:
        deliver_endpoint.delay(endpoint_id)
    return len(ids)


@app.task(name=WEBHOOK_DUE_SOON, acks_late=True)
def due_soon():
    """Beat, hourly: the assignment.due_soon events now due."""
    try:
        with sessions()() as session:
            written = write_due_soon(session, utcnow())
            session.commit()
    except SQLAlchemyError as exc:
        if not _database_away(exc, "due_soon webhooks"):
            raise
        return 0
    return written


def _database_away(exc, what):
    """True (after one log line, no traceback) when ``exc`` is the database being unreachable:
    an expected outage, and the next beat tick tries again."""
    if not is_unreachable(exc):
        return False
    log.warning("%s: database unreachable (%s), waiting for the next run", what, type(exc).__name__)
    return True


def publish(endpoint_ids):
    """After a commit that wrote deliveries: their endpoints' tasks, now (the beat's dispatch
    sends them anyway when the broker is away)."""
    for endpoint_id in endpoint_ids:
        try:
            deliver_endpoint.delay(endpoint_id)
        except Exception as exc:  # the broker is away: dispatch catches up
            log.warning("webhook delivery of endpoint %s deferred to dispatch (%s)", endpoint_id, type(exc).__name__)
            return


@worker_init.connect
def _publish_after_commit(**_kwargs):
    # Only in a worker: tests and the CLI leave delivery to dispatch.
    outbox.after_commit_hook = publish
