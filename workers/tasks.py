"""Celery tasks: take ids, load fresh rows, idempotent, acks_late, bounded retries.

Provisioning events arrive in messages of up to ``EVENTS_PER_MESSAGE`` ids (the relay
puts what is pending into as few messages as that allows). ``process_many`` handles
such a batch in one transaction with set-based reads; when anything in it fails, the
batch is rolled back and its events are processed one per transaction with
``process``, so one bad event never holds back the others.
"""

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from config.celery import EVENTS_PER_MESSAGE, PROCESS_EVENT, PROCESS_EVENTS, RELAY_PENDING
from models import AuditEvent, Learner, ProvisioningEvent, utcnow
from models import managers as manager_links
from models.unreachable import is_unreachable
from models.webhook_outbox import note
from workers import live_latency
from workers.celery_app import RETRY_POLICY, app, sessions, settings
from workers.group_events import reconcile_group_event
from workers.reconcile import NOT_GIVEN, preloaded, reconcile
from workers.redelivery_stats import record_redelivery

log = logging.getLogger(__name__)
RELAY_BATCH = 1000


def _previous_inputs(event):
    """What the event says the learner was before: None for a creation, NOT_GIVEN when unrecorded."""
    if event.action == "create":
        return None
    return event.previous if isinstance(event.previous, dict) else NOT_GIVEN


def process(session, event_id, now=None, committed=None):
    """Run Smart Assign for one event and write its audit entry; True if it did work.

    Skips an event already done, so a redelivery is harmless; the unique
    ``audit_events.event_id`` and assignment keys settle a concurrent duplicate.
    The event's commit time is appended to the list ``committed`` when it is done.
    """
    now = now or utcnow()
    query = select(ProvisioningEvent).where(ProvisioningEvent.id == event_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    event = session.scalar(query)
    if event is None or event.processed_at is not None:
        return False
    learner = session.get(Learner, event.resource_id) if event.resource_type == "User" else None
    session.add(_audit(event, _outcome(session, event, learner, now), now))
    event.processed_at = now
    event.attempts += 1
    session.commit()
    if committed is not None:
        committed.append(event.created_at)
    return True


def _outcome(session, event, learner, now):
    """Smart Assign for one event; the outcome dict its audit entry records."""
    if learner is not None:
        manager_links.resolve(session, learner, arrived=event.action == "create")
        _note_learner_event(session, event, learner)
        return reconcile(session, learner, now=now, previous=_previous_inputs(event))
    if event.resource_type == "Group":
        # Membership changes re-run Smart Assign for the members concerned (group rules).
        return reconcile_group_event(session, event, now)
    return {}


def learner_event_type(event, learner):
    """The webhook event type of a User provisioning event: created, deactivated, reactivated or updated."""
    if event.action == "create":
        return "learner.created"
    now_active = bool(learner.active) and learner.deleted_at is None
    previous = event.previous if isinstance(event.previous, dict) else {}
    was_active = bool(previous.get("active", now_active))
    if was_active and not now_active:
        return "learner.deactivated"
    if now_active and not was_active:
        return "learner.reactivated"
    return "learner.updated"


def _note_learner_event(session, event, learner):
    # Written at commit with the event's done mark (models/webhook_outbox.py).
    note(session, event.company_id, learner_event_type(event, learner), learner, reason=event.action)


def _audit(event, outcome, now):
    return AuditEvent(
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


def process_batch(session, event_ids, now=None, committed=None):
    """``process`` for several events in one transaction; returns the ids it did.

    Events already done (a redelivered message) are skipped, as by ``process``. On
    PostgreSQL the events are locked in id order, so a concurrent duplicate waits for
    this transaction and then finds them done. The learners, their assignments, group
    rules and catalogs are read for the whole batch in a few queries; events are
    handled in id order, so two events of one learner apply as they would one by one.
    Raises on any failure, leaving the caller to roll back (see ``process_many``).
    The done events' commit times are appended to the list ``committed``.
    """
    now = now or utcnow()
    query = (
        select(ProvisioningEvent)
        .where(ProvisioningEvent.id.in_(list(event_ids)), ProvisioningEvent.processed_at.is_(None))
        .order_by(ProvisioningEvent.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    events = session.scalars(query).all()
    if not events:
        session.commit()
        return []
    user_ids = {e.resource_id for e in events if e.resource_type == "User"}
    learners = {
        learner.id: learner
        for learner in (session.scalars(select(Learner).where(Learner.id.in_(user_ids))) if user_ids else ())
    }
    with preloaded(session, learners.values()):
        audits = [_audit(e, _outcome(session, e, learners.get(e.resource_id), now), now) for e in events]
    session.add_all(audits)
    done = [e.id for e in events]
    session.execute(
        update(ProvisioningEvent)
        .where(ProvisioningEvent.id.in_(done))
        .values(processed_at=now, attempts=ProvisioningEvent.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if committed is not None:
        committed.extend(e.created_at for e in events)
    return done


def process_many(session_factory, event_ids, committed=None):
    """Process a message's events: as one batch, else one by one; returns how many were done.

    When the batch fails (a bad event, a unique-key race with another worker), it is
    rolled back and every event is tried alone in its own transaction: the others are
    done and committed, and the first error is raised afterwards so that the task's
    retry policy (or the beat relay's net) takes care of the events still owed.
    """
    ids = list(dict.fromkeys(event_ids))
    with session_factory() as session:
        try:
            return len(process_batch(session, ids, committed=committed))
        except Exception as exc:
            session.rollback()
            if len(ids) == 1:
                raise
            log.warning("a batch of %d events failed (%s); processing them one by one", len(ids), type(exc).__name__)
    done, error = 0, None
    for event_id in ids:
        with session_factory() as session:
            try:
                done += process(session, event_id, committed=committed)
            except Exception as exc:
                session.rollback()
                log.warning("event %s failed (%s)", event_id, type(exc).__name__)
                error = error or exc
    if error is not None:
        raise error
    return done


@app.task(name=PROCESS_EVENT, **RETRY_POLICY)
def process_event(event_id):
    """Smart Assign and audit for one provisioning event (by id).

    The service no longer sends it (the relay sends ``process_events``); it stays
    registered for messages a previous release queued, and goes in the release after
    the next one (2027-03), once no queue can still hold one.
    """
    committed = []
    with sessions()() as session:
        try:
            done = process(session, event_id, committed=committed)
        except Exception:
            session.rollback()
            raise
    live_latency.observe(settings.broker_url, committed)
    log.info("event %s %s", event_id, "processed" if done else "already done")
    return done


@app.task(name=PROCESS_EVENTS, **RETRY_POLICY)
def process_events(event_ids):
    """Smart Assign and audit for a batch of provisioning events (by id); see ``process_many``."""
    committed = []
    try:
        done = process_many(sessions(), event_ids, committed)
    finally:
        # The events done before a failure count too: a retry skips them.
        live_latency.observe(settings.broker_url, committed)
    log.info("events: %d of %d processed (the rest already done)", done, len(event_ids))
    return done


def in_messages(ids, size=None):
    """``ids`` cut into the lists one process_events message carries."""
    ids, size = list(ids), size or EVENTS_PER_MESSAGE
    return [ids[i : i + size] for i in range(0, len(ids), size)]


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
    try:
        with sessions()() as session:
            ids = pending_event_ids(session, utcnow() - timedelta(seconds=settings.relay_after_seconds))
    except SQLAlchemyError as exc:
        if not is_unreachable(exc):
            raise
        # An expected outage: one line, and the next beat tick looks again.
        log.warning("relay: database unreachable (%s), pending events wait for the next run", type(exc).__name__)
        return 0
    for batch in in_messages(ids):
        process_events.delay(batch)
    if ids:
        log.info("relayed %d pending events", len(ids))
    record_redelivery(settings.broker_url, len(ids))
    return len(ids)
