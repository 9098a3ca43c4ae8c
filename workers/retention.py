"""Retention: what Herd keeps only for a while.

Failed SCIM calls (``scim_failures``, the dashboard's view of errors Herd answered) are
deleted, and processed outbox rows (``provisioning_events``) lose their payload, the
before/after values of the change, once older than ``RETENTION_DAYS`` (default 90). The
rows themselves and the audit trail (``audit_events``) are kept. Delivered webhooks (and
their messages once nothing is owed on them) go after the same period. Work is done in batches,
each its own transaction, so a large first run never holds long locks, and the daily task
does a few batches per turn on the bulk queue (``workers.turns``).
"""

import logging
from datetime import timedelta

from sqlalchemy import String, cast, delete, exists, select, update

from config.celery import PRUNE_RETENTION
from models import ProvisioningEvent, ScimFailure, WebhookDelivery, WebhookMessage, utcnow
from models.webhook import DELIVERED
from workers.celery_app import app, sessions, settings
from workers.turns import next_turn

log = logging.getLogger(__name__)
BATCH = 5000
# Batches per turn of the daily task: a first run over months of rows yields between turns.
BATCHES_PER_TURN = 4
EMPTY = "{}"


def prune(session, days, now=None, batch=BATCH):
    """Delete failed SCIM calls and empty processed events' payloads older than ``days``.

    Returns ``{"scim_failures": deleted, "event_payloads": emptied, "webhooks": deliveries deleted}``.
    Commits per batch.
    """
    return prune_some(session, days, now, batch)[0]


def prune_some(session, days, now=None, batch=None, batches=None):
    """``prune``, stopping after ``batches`` batches (all when None); returns ``(counts, more)``.

    ``more`` is True when it stopped with work maybe left (a turn, see ``prune_retention``).
    """
    cutoff = (now or utcnow()) - timedelta(days=days)
    batch = batch or BATCH
    counts = {"scim_failures": 0, "event_payloads": 0, "webhooks": 0}
    done = 0
    for kind, next_ids, apply in (
        ("scim_failures", lambda: _old_failures(session, cutoff, batch), _delete_failures),
        ("event_payloads", lambda: _old_payloads(session, cutoff, batch), _empty_payloads),
        ("webhooks", lambda: _old_deliveries(session, cutoff, batch), _delete_deliveries),
    ):
        while True:
            if batches is not None and done >= batches:
                return counts, True
            ids = next_ids()
            if not ids:
                break
            session.execute(apply(ids))
            session.commit()
            counts[kind] += len(ids)
            done += 1
    # Messages nothing is owed on any more (their deliveries are gone): one statement.
    owed = exists().where(WebhookDelivery.message_id == WebhookMessage.id)
    session.execute(delete(WebhookMessage).where(WebhookMessage.created_at < cutoff, ~owed))
    session.commit()
    return counts, False


def _old_failures(session, cutoff, batch):
    return session.scalars(select(ScimFailure.id).where(ScimFailure.occurred_at < cutoff).limit(batch)).all()


def _delete_failures(ids):
    return delete(ScimFailure).where(ScimFailure.id.in_(ids))


def _old_payloads(session, cutoff, batch):
    return session.scalars(
        select(ProvisioningEvent.id)
        .where(
            ProvisioningEvent.processed_at.is_not(None),
            ProvisioningEvent.processed_at < cutoff,
            cast(ProvisioningEvent.changes, String) != EMPTY,
        )
        .limit(batch)
    ).all()


def _empty_payloads(ids):
    return update(ProvisioningEvent).where(ProvisioningEvent.id.in_(ids)).values(changes={})


def _old_deliveries(session, cutoff, batch):
    return session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == DELIVERED, WebhookDelivery.created_at < cutoff)
        .limit(batch)
    ).all()


def _delete_deliveries(ids):
    return delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids))


@app.task(name=PRUNE_RETENTION, acks_late=True)
def prune_retention():
    """Beat, daily: apply the retention period (``RETENTION_DAYS``), a few batches per turn.

    After ``BATCHES_PER_TURN`` batches the next turn goes to the back of the bulk queue
    (``workers.turns``); when it cannot be queued, this task prunes the rest itself.
    """
    with sessions()() as session:
        counts, more = prune_some(session, settings.retention_days, batches=BATCHES_PER_TURN)
        if more and not next_turn(prune_retention):
            rest = prune(session, settings.retention_days)
            counts = {kind: counts[kind] + rest[kind] for kind in counts}
    log.info("retention (%d days): %s%s", settings.retention_days, counts, ", more to come" if more else "")
    return counts
