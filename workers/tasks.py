"""Celery tasks: take ids, load fresh rows, idempotent, acks_late, bounded retries."""

import logging
from datetime import timedelta

from sqlalchemy import select

from config.celery import PROCESS_EVENT, RELAY_PENDING
from models import AuditEvent, Learner, ProvisioningEvent, utcnow
from workers.celery_app import RETRY_POLICY, app, sessions, settings
from workers.group_events import reconcile_group_event
from workers.reconcile import NOT_GIVEN, reconcile
from workers.relay_stats import record_relay

log = logging.getLogger(__name__)
RELAY_BATCH = 1000


def _previous_inputs(event):
    """What the event says the learner was before: None for a creation, NOT_GIVEN when unrecorded."""
    if event.action == "create":
        return None
    return event.previous if isinstance(event.previous, dict) else NOT_GIVEN


def process(session, event_id, now=None):
    """Run Smart Assign for one event and write its audit entry; True if it did work.

    Skips an event already done, so a redelivery is harmless; the unique
    ``audit_events.event_id`` and assignment keys settle a concurrent duplicate.
    """
    now = now or utcnow()
    query = select(ProvisioningEvent).where(ProvisioningEvent.id == event_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    event = session.scalar(query)
    if event is None or event.processed_at is not None:
        return False
    outcome = {}
    learner = session.get(Learner, event.resource_id) if event.resource_type == "User" else None
    if learner is not None:
        outcome = reconcile(session, learner, now=now, previous=_previous_inputs(event))
    elif event.resource_type == "Group":
        # Membership changes re-run Smart Assign for the members concerned (group rules).
        outcome = reconcile_group_event(session, event, now)
    session.add(
        AuditEvent(
            company_id=event.company_id,
            event_id=event.id,
            learner_id=event.resource_id if event.resource_type == "User" else None,
            resource_type=event.resource_type,
            action=event.action,
            token_name=event.token_name,
            changes=event.changes,
            outcome=outcome,
            occurred_at=event.created_at,
            recorded_at=now,
        )
    )
    event.processed_at = now
    event.attempts += 1
    session.commit()
    return True


@app.task(name=PROCESS_EVENT, **RETRY_POLICY)
def process_event(event_id):
    """Smart Assign and audit for one provisioning event (by id)."""
    with sessions()() as session:
        try:
            done = process(session, event_id)
        except Exception:
            session.rollback()
            raise
    log.info("event %s %s", event_id, "processed" if done else "already done")
    return done


def pending_event_ids(session, older_than, limit=RELAY_BATCH):
    """Ids of events still not done, created before ``older_than``, oldest first."""
    return session.scalars(
        select(ProvisioningEvent.id)
        .where(ProvisioningEvent.processed_at.is_(None), ProvisioningEvent.created_at < older_than)
        .order_by(ProvisioningEvent.created_at)
        .limit(limit)
    ).all()


@app.task(name=RELAY_PENDING, acks_late=True)
def relay_pending_events():
    """Beat: re-enqueue events not done after a delay (broker was down, worker died)."""
    with sessions()() as session:
        ids = pending_event_ids(session, utcnow() - timedelta(seconds=settings.relay_after_seconds))
    for event_id in ids:
        process_event.delay(event_id)
    if ids:
        log.info("relayed %d pending events", len(ids))
    record_relay(settings.broker_url, len(ids))
    return len(ids)
