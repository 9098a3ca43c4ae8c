"""Retention: what Herd keeps only for a while.

Failed SCIM calls (``scim_failures``, the dashboard's view of errors Herd answered) are
deleted, and processed outbox rows (``provisioning_events``) lose their payload, the
before/after values of the change, once older than ``RETENTION_DAYS`` (default 90). The
rows themselves and the audit trail (``audit_events``) are kept. Delivered webhooks (and
their messages once nothing is owed on them) go after the same period. Work is done in batches,
each its own transaction, so a large first run never holds long locks.
"""

import logging
from datetime import timedelta

from sqlalchemy import String, cast, delete, exists, select, update

from config.celery import PRUNE_RETENTION
from models import ProvisioningEvent, ScimFailure, WebhookDelivery, WebhookMessage, utcnow
from models.webhook import DELIVERED
from workers.celery_app import app, sessions, settings

log = logging.getLogger(__name__)
BATCH = 5000
EMPTY = "{}"


def prune(session, days, now=None, batch=BATCH):
    """Delete failed SCIM calls and empty processed events' payloads older than ``days``.

    Returns ``{"scim_failures": deleted, "event_payloads": emptied}``. Commits per batch.
    """
    cutoff = (now or utcnow()) - timedelta(days=days)
    deleted = emptied = 0
    while True:
        ids = session.scalars(select(ScimFailure.id).where(ScimFailure.occurred_at < cutoff).limit(batch)).all()
        if not ids:
            break
        session.execute(delete(ScimFailure).where(ScimFailure.id.in_(ids)))
        session.commit()
        deleted += len(ids)
    while True:
        ids = session.scalars(
            select(ProvisioningEvent.id)
            .where(
                ProvisioningEvent.processed_at.is_not(None),
                ProvisioningEvent.processed_at < cutoff,
                cast(ProvisioningEvent.changes, String) != EMPTY,
            )
            .limit(batch)
        ).all()
        if not ids:
            break
        session.execute(update(ProvisioningEvent).where(ProvisioningEvent.id.in_(ids)).values(changes={}))
        session.commit()
        emptied += len(ids)
    return {"scim_failures": deleted, "event_payloads": emptied, "webhooks": _prune_webhooks(session, cutoff, batch)}


def _prune_webhooks(session, cutoff, batch):
    """Delivered webhooks older than ``cutoff``, then messages nothing is owed on; how many deliveries."""
    deleted = 0
    while True:
        ids = session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == DELIVERED, WebhookDelivery.created_at < cutoff)
            .limit(batch)
        ).all()
        if not ids:
            break
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
        session.commit()
        deleted += len(ids)
    owed = exists().where(WebhookDelivery.message_id == WebhookMessage.id)
    session.execute(delete(WebhookMessage).where(WebhookMessage.created_at < cutoff, ~owed))
    session.commit()
    return deleted


@app.task(name=PRUNE_RETENTION, acks_late=True)
def prune_retention():
    """Beat, daily: apply the retention period (``RETENTION_DAYS``)."""
    with sessions()() as session:
        counts = prune(session, settings.retention_days)
    log.info("retention (%d days): %s", settings.retention_days, counts)
    return counts
