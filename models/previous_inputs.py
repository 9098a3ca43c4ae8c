"""The learner's Smart Assign inputs before a change, recorded on the change's provisioning event.

The SCIM store changes the learner and adds its event, and one flush writes
both (a DELETE flushes the learner first, then adds the event). A
``before_flush`` listener keeps the values the learner had when it was loaded
(the first time it is flushed dirty in a transaction), and puts them on the
event for that learner when the event is flushed, in the same flush or a later one. The worker
reads them as ``previous`` and words the reasons ("promoted to supervisor",
"moved from US-CA to US-IL"); decisions never depend on them.

A creation carries no previous inputs (the learner is new).
"""

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from models.event import ProvisioningEvent
from models.learner import Learner

INPUTS = ("active", "deleted_at", "region", "country", "location", "role", "training_tags")
_STASH = "_herd_previous_inputs"
# Actions that create the learner: there is nothing before them.
CREATIONS = frozenset({"create"})


def committed_inputs(learner):
    """The learner's Smart Assign inputs as loaded from the database (before unflushed changes)."""
    state = inspect(learner)
    values = {}
    for name in INPUTS:
        history = state.attrs[name].history
        if history.deleted:
            value = history.deleted[0]
        elif history.unchanged:
            value = history.unchanged[0]
        else:
            value = getattr(learner, name)
        values[name] = value
    return {
        "active": bool(values["active"]) and values["deleted_at"] is None,
        "region": values["region"],
        "country": values["country"],
        "location": values["location"],
        "role": values["role"],
        "training_tags": list(values["training_tags"] or []),
    }


@event.listens_for(Session, "before_flush")
def _record_previous_inputs(session, _context, _instances):
    for obj in session.dirty:
        if isinstance(obj, Learner) and _STASH not in obj.__dict__ and inspect(obj).persistent:
            obj.__dict__[_STASH] = committed_inputs(obj)
    for obj in session.new:
        if not isinstance(obj, ProvisioningEvent) or obj.resource_type != "User" or obj.previous is not None:
            continue
        if obj.action in CREATIONS or not obj.resource_id:
            continue
        learner = session.identity_map.get(identity_key(Learner, obj.resource_id))
        if learner is not None:
            obj.previous = learner.__dict__.pop(_STASH, None) or committed_inputs(learner)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session):
    # A stash belongs to one transaction: the next change starts from the stored row.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Learner):
            obj.__dict__.pop(_STASH, None)
