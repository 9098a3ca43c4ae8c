"""Model rows -> the API's JSON shapes."""

from models.catalog import DEFAULT_CATALOG, by_code
from service.scim.users.mapping import work_email

_CATALOG = by_code(DEFAULT_CATALOG)


def timestamp(value):
    """UTC ISO-8601 with a Z (stored datetimes are naive UTC); None stays None."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds") + "Z"


def learner(row):
    """A learner as the admin API shows it; DELETEd learners are flagged, not hidden."""
    return {
        "id": row.id,
        "user_name": row.user_name,
        "display_name": row.display_name,
        "given_name": row.given_name,
        "family_name": row.family_name,
        # The address as the IdP sent it (the lower-cased column is for lookups).
        "email": work_email(row.resource or {}),
        "active": bool(row.active),
        "deleted": row.deleted_at is not None,
        "region": row.region,
        "country": row.country,
        "location": row.location,
        "role": row.role,
        "training_tags": list(row.training_tags or []),
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
    }


def learner_training(row):
    """One assignment, with its training's title from the catalog."""
    training = _CATALOG.get(row.training_code)
    return {
        "id": row.id,
        "learner_id": row.learner_id,
        "training_code": row.training_code,
        "training_title": training.title if training else None,
        "status": row.status,
        "progress": row.progress,
        "assigned_at": timestamp(row.assigned_at),
        "due_at": timestamp(row.due_at),
        "completed_at": timestamp(row.completed_at),
        "cycle": row.cycle,
        # Why Smart Assign assigned it: new learner, promotion, move, tag, recertification, group rule.
        "reason": row.reason,
    }


def training(item):
    """One catalog training."""
    return {
        "code": item.code,
        "title": item.title,
        "family": item.family,
        "region": item.region,
        "audience": item.audience,
        "cadence_months": item.cadence_months,
        "due_days": item.due_days,
    }


def audit_event(row):
    """One audit trail entry."""
    return {
        "id": row.id,
        "occurred_at": timestamp(row.occurred_at),
        "action": row.action,
        "token_name": row.token_name,
        "resource_type": row.resource_type,
        "learner_id": row.learner_id,
        "changes": row.changes or {},
        "outcome": row.outcome or {},
    }
