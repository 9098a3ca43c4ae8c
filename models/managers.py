"""Who manages whom: the enterprise ``manager`` reference resolved to a learner of the same company.

Entra sends ``urn:...:enterprise:2.0:User`` ``manager.value``: the manager's id in Herd
or, before Herd's id is known to it, the manager's externalId. Learners arrive in any
order, so resolution runs both ways whenever a learner's event is processed
(``resolve``): the learner's own reference is looked up, and the learners waiting for
this one (their reference names its id or externalId) are linked to it. A manager who
is deactivated keeps their reports until the IdP sends another manager: nothing here
looks at ``active``.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update

from models.attribute_mapping import ENTERPRISE_URN
from models.learner import Learner

MAX_REF = 300


def reference(doc: dict) -> str | None:
    """The manager reference a SCIM User document carries (case folded), else None."""
    for key, value in (doc or {}).items():
        if key.lower() == ENTERPRISE_URN and isinstance(value, dict):
            manager = next((v for k, v in value.items() if k.lower() == "manager"), None)
            if isinstance(manager, dict):
                manager = next((v for k, v in manager.items() if k.lower() == "value"), None)
            if isinstance(manager, str) and manager.strip():
                return manager.strip().casefold()[:MAX_REF]
    return None


def _named(company_id, ref):
    """The learners of a company a reference names: by id, else by externalId."""
    return select(Learner.id).where(
        Learner.company_id == company_id, or_(Learner.id == ref, Learner.external_id_lower == ref)
    )


def resolve(session, learner, arrived: bool = True) -> None:
    """Keep ``learner.manager_id`` true to its document and, when the learner has just
    ``arrived`` (a creation), link the learners already waiting for it (flush only).

    Costs nothing when the reference did not change and is resolved already, so the
    worker's batches stay a few queries for the many events that touch other attributes.
    """
    ref = reference(learner.resource)
    if ref != learner.manager_ref or (ref is not None and learner.manager_id is None):
        learner.manager_ref = ref
        if ref is None:
            learner.manager_id = None
        else:
            # A learner never manages itself (a self-reference is a data error, not a loop to follow).
            found = session.scalars(_named(learner.company_id, ref).where(Learner.id != learner.id).limit(2)).all()
            # A reference naming two learners (an id equal to another's externalId) is not guessed.
            if len(found) == 1:
                learner.manager_id = found[0]
            elif not found:
                learner.manager_id = None
    if not arrived:
        return
    keys = [learner.id] + ([learner.external_id_lower] if learner.external_id_lower else [])
    session.execute(
        update(Learner)
        .where(
            Learner.company_id == learner.company_id,
            Learner.manager_ref.in_(keys),
            Learner.id != learner.id,
            or_(Learner.manager_id.is_(None), Learner.manager_id != learner.id),
        )
        .values(manager_id=learner.id)
        .execution_options(synchronize_session=False)
    )
