"""The webhook outbox: events noted where things change, written at commit in the same transaction.

Smart Assign (workers/reconcile.py), the provisioning worker and the course player's
progress (/api/v1) call ``note``; nothing is written or sent then. Just before the
session commits, the noted events become ``webhook_messages`` rows with one
``webhook_deliveries`` row per endpoint of the company subscribed to the type, so an
event exists exactly when the change it reports does. A company without endpoints costs
one indexed query per commit that noted anything. Delivery happens after commit, in the
``webhooks`` Celery queue (workers/webhooks.py).
"""

from sqlalchemy import event, insert, or_, select
from sqlalchemy.orm import Session

from models.catalog import DEFAULT_CATALOG, by_code
from models.db import utcnow
from models.learner import Learner
from models.webhook import PENDING, TEST_EVENT, WebhookDelivery, WebhookEndpoint, WebhookMessage

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# Managers above this many levels are left out (and a cycle ends the chain).
MAX_MANAGERS = 10
_PENDING = "herd_webhooks_pending"
_WRITTEN = "herd_webhooks_written"
_TITLES = {code: training.title for code, training in by_code(DEFAULT_CATALOG).items()}

# Called after a commit that wrote deliveries, with the endpoint ids; the worker sets it
# to publish their delivery tasks (the web leaves it unset: the beat's dispatch sends).
after_commit_hook = None


def note(session, company_id, event_type, learner, assignment=None, reason=None):
    """Note an event for the company's webhooks; written when ``session`` commits (see module doc)."""
    session.info.setdefault(_PENDING, []).append((company_id, event_type, learner, assignment, reason))


def timestamp(value):
    """UTC ISO-8601 with a Z (stored datetimes are naive UTC); None stays None."""
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def manager_value(learner):
    """The enterprise ``manager.value`` of a learner's stored SCIM document (None when absent)."""
    enterprise = (learner.resource or {}).get(ENTERPRISE)
    manager = enterprise.get("manager") if isinstance(enterprise, dict) else None
    value = manager.get("value") if isinstance(manager, dict) else manager
    return value.strip() if isinstance(value, str) and value.strip() else None


def manager_chain(session, learner, cache=None):
    """The learner's managers, nearest first: ``manager.value`` names another learner of the
    company by id or externalId; the chain stops at an unknown manager, a cycle or MAX_MANAGERS.
    ``cache`` (a dict) keeps chains by learner id for one commit's events."""
    if cache is not None and learner.id in cache:
        return cache[learner.id]
    chain, seen, current = [], {learner.id}, learner
    while len(chain) < MAX_MANAGERS:
        value = manager_value(current)
        if value is None:
            break
        current = session.scalar(
            select(Learner)
            .where(
                Learner.company_id == learner.company_id,
                Learner.deleted_at.is_(None),
                or_(Learner.id == value, Learner.external_id_lower == value.lower()),
            )
            .order_by(Learner.created_at)
            .limit(1)
        )
        if current is None or current.id in seen:
            break
        seen.add(current.id)
        chain.append(learner_data(current))
    if cache is not None:
        cache[learner.id] = chain
    return chain


def learner_data(learner):
    """A learner as a webhook shows it."""
    return {
        "id": learner.id,
        "external_id": (learner.resource or {}).get("externalId"),
        "user_name": learner.user_name,
        "display_name": learner.display_name,
        "email": learner.email_lower,
        "active": bool(learner.active) and learner.deleted_at is None,
    }


def training_data(row):
    """An assignment as a webhook shows it: the training and where the learner stands."""
    return {
        "assignment_id": row.id,
        "code": row.training_code,
        "title": _TITLES.get(row.training_code),
        "status": row.status,
        "progress": row.progress,
        "cycle": row.cycle,
        "assigned_at": timestamp(row.assigned_at),
        "due_at": timestamp(row.due_at),
        "completed_at": timestamp(row.completed_at),
    }


def payload(session, event_type, learner, assignment=None, reason=None, now=None, chains=None):
    """The Standard Webhooks payload: ``type``, ``timestamp`` and ``data`` (learner, training,
    reason and the learner's manager chain, so a receiver can escalate)."""
    data = {"learner": learner_data(learner), "managers": manager_chain(session, learner, chains), "reason": reason}
    if assignment is not None:
        data["training"] = training_data(assignment)
        data["reason"] = reason or assignment.reason
    return {"type": event_type, "timestamp": timestamp(now or utcnow()), "data": data}


def endpoints_of(session, company_id):
    """The company's enabled endpoints."""
    return session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.company_id == company_id, WebhookEndpoint.enabled.is_(True))
    ).all()


def write(session, company_id, event_type, body, endpoints, dedupe_key=None, now=None):
    """One message and its deliveries to those of ``endpoints`` that take ``event_type``; the
    message's id (None when no endpoint takes it). The caller commits."""
    targets = [e.id for e in endpoints if event_type == TEST_EVENT or e.receives(event_type)]
    if not targets:
        return None
    return insert_messages(session, [(company_id, event_type, body, dedupe_key, targets)], now)[0]


def insert_messages(session, items, now=None):
    """``items``: ``(company_id, event_type, body, dedupe_key, endpoint ids)``; their messages and
    deliveries in two multi-row INSERTs (no ORM objects: a batch of events writes thousands).
    Returns the message ids, in order."""
    now = now or utcnow()
    ids = session.scalars(
        insert(WebhookMessage).returning(WebhookMessage.id, sort_by_parameter_order=True),
        [
            {"company_id": c, "event_type": t, "payload": b, "dedupe_key": k, "created_at": now}
            for c, t, b, k, _ in items
        ],
    ).all()
    # Due at once, whatever moment the events are about (a due_soon run "as of" another time).
    due = utcnow()
    session.execute(
        insert(WebhookDelivery),
        [
            {
                "endpoint_id": e,
                "message_id": message_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": now,
            }
            for message_id, item in zip(ids, items, strict=True)
            for e in item[4]
        ],
    )
    session.info.setdefault(_WRITTEN, set()).update(e for item in items for e in item[4])
    return ids


@event.listens_for(Session, "before_commit")
def _write_noted(session):
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # the assignments Smart Assign added get their ids first
    now = utcnow()
    endpoints, chains, items = {}, {}, []
    for company_id, event_type, learner, assignment, reason in pending:
        if company_id not in endpoints:
            endpoints[company_id] = endpoints_of(session, company_id)
        targets = [e.id for e in endpoints[company_id] if e.receives(event_type)]
        if targets:
            body = payload(session, event_type, learner, assignment, reason, now, chains)
            items.append((company_id, event_type, body, None, targets))
    if items:
        insert_messages(session, items, now)


@event.listens_for(Session, "after_commit")
def _published(session):
    written = session.info.pop(_WRITTEN, None)
    if written and after_commit_hook is not None:
        after_commit_hook(sorted(written))


@event.listens_for(Session, "after_rollback")
def _forget(session):
    # A rolled-back change never happened: neither did its events.
    session.info.pop(_PENDING, None)
    session.info.pop(_WRITTEN, None)
