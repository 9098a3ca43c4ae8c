"""What every resource store does on a write: the uniqueness flush and the provisioning event.

The store flushes; the request boundary commits and then enqueues the event
(the outbox row). ``changes`` is what the event, and later the audit trail, shows.
"""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import ProvisioningEvent
from service.scim.errors import Uniqueness


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


def flush_unique(session, conflict):
    """Flush; a concurrent insert of the same unique name surfaces here as ``conflict`` (a 409)."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise conflict from None


def add_event(session, caller, resource_type, resource_id, action, change_set):
    """Add the provisioning event (the outbox row) for one write by ``caller``."""
    event = ProvisioningEvent(
        company_id=caller.company.id,
        resource_type=resource_type,
        resource_id=resource_id,
        action=action,
        changes=change_set,
        token_id=caller.token_id,
        token_name=caller.token_name,
    )
    session.add(event)
    return event


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


def changes(before, after):
    """``{path: {"before": old, "after": new}}`` for every attribute that differs."""
    old, new = flatten(before), flatten(after)
    return {
        path: {"before": old.get(path), "after": new.get(path)}
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    }
