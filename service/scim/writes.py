"""What every resource store does on a write: the uniqueness check, the provisioning event,
and the answer to a lost race.

The store writes; the request boundary commits, and the outbox relay publishes the
event (the outbox row). ``changes`` is what the event, and later the audit trail, shows.
"""

import json
from contextlib import contextmanager

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from models import ProvisioningEvent, utcnow
from models.prebuilt import Prebuilt
from service.scim.errors import Uniqueness

EVENTS = ProvisioningEvent.__table__
EVENT_COLUMNS = (
    "company_id", "resource_type", "resource_id", "action", "changes", "previous", "token_id", "token_name",
    "created_at", "attempts",
)  # fmt: skip
# inline(): no RETURNING of the new id, which nothing reads.
_INSERT_EVENT = Prebuilt(insert(EVENTS).inline())


class Stale(Exception):
    """The resource changed between its read and this write (another request wrote it first):
    nothing was written. ``current`` is the resource as it is now, read again under a row
    lock, for the write to be made again on it (``service.scim.views.write``)."""

    def __init__(self, current):
        super().__init__("the resource changed since it was read")
        self.current = current


def taken(session, id_column, conditions, except_id=None):
    """Whether a row matching ``conditions`` (other than ``except_id``) holds the name already."""
    query = select(id_column).where(*conditions)
    if except_id:
        query = query.where(id_column != except_id)
    return session.scalar(query.limit(1)) is not None


def conflict(attribute, value, owner, rule):
    """The 409 for a unique name already used (RFC 7644 §3.3: scimType uniqueness)."""
    return Uniqueness(
        f"{attribute} '{value}' is already used by another {owner} of this company. "
        f"{rule} must be unique (case-insensitive)."
    )


@contextmanager
def unique(session, conflict):
    """Run a write; a concurrent insert of the same unique name surfaces here as ``conflict`` (a 409)."""
    try:
        yield
    except IntegrityError:
        session.rollback()
        raise conflict from None


def flush_unique(session, conflict):
    """Flush; a concurrent insert of the same unique name surfaces here as ``conflict`` (a 409)."""
    with unique(session, conflict):
        session.flush()


def event_row(caller, resource_type, resource_id, action, change_set, previous=None):
    """The provisioning event (the outbox row) of one write by ``caller``: ``EVENT_COLUMNS``' values.

    ``previous``: a learner's Smart Assign inputs before the change (``models.previous_inputs``).
    """
    return {
        "company_id": caller.company.id,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "action": action,
        "changes": change_set,
        "previous": previous,
        "token_id": caller.token_id,
        "token_name": caller.token_name,
        "created_at": utcnow(),
        "attempts": 0,
    }


def insert_event(session, row):
    """Insert an ``event_row`` in the session's transaction."""
    _INSERT_EVENT.write(session.connection(), row, EVENT_COLUMNS)


def add_event(session, caller, resource_type, resource_id, action, change_set, previous=None):
    """Insert the provisioning event for one write by ``caller``, in its transaction (``event_row``)."""
    insert_event(session, event_row(caller, resource_type, resource_id, action, change_set, previous))


def flatten(doc, prefix=""):
    """``{"name": {"givenName": "Jo"}}`` -> ``{"name.givenName": "Jo"}``; lists stay whole."""
    out = {}
    for key, value in (doc or {}).items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{path}:" if key.lower().startswith("urn:") else f"{path}."))
        else:
            out[path] = value
    return out


# What one event (and the audit entry made from it) stores of a change: the first
# MAX_CHANGED_PATHS changed paths in order, each value cut to MAX_CHANGE_VALUE_CHARS, and
# under OMITTED how many paths were left out. A write that changes a whole document
# (a PUT of every custom attribute, a DELETE) then stores tens of kilobytes at most, not
# the documents themselves, in two tables kept for ever.
MAX_CHANGED_PATHS = 50
MAX_CHANGE_VALUE_CHARS = 500
OMITTED = "(omitted)"  # not a SCIM attribute path (parentheses are not name characters)


def _bounded(value):
    """``value``, or when it is longer than MAX_CHANGE_VALUE_CHARS (a string, or a list or
    object as JSON) its first characters followed by "…" (a string then)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= MAX_CHANGE_VALUE_CHARS:
        return value
    return text[:MAX_CHANGE_VALUE_CHARS] + "…"


def changes(before, after):
    """``{path: {"before": old, "after": new}}`` for the attributes that differ, bounded:
    at most MAX_CHANGED_PATHS paths (in sorted order), values cut to MAX_CHANGE_VALUE_CHARS,
    and ``{OMITTED: {"paths": n}}`` when n more paths changed."""
    old, new = flatten(before), flatten(after)
    changed = [path for path in sorted(set(old) | set(new)) if old.get(path) != new.get(path)]
    out = {
        path: {"before": _bounded(old.get(path)), "after": _bounded(new.get(path))}
        for path in changed[:MAX_CHANGED_PATHS]
    }
    if len(changed) > MAX_CHANGED_PATHS:
        out[OMITTED] = {"paths": len(changed) - MAX_CHANGED_PATHS}
    return out
