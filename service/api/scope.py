"""Company-scoped lookups: an id outside the caller's company is answered like an unknown one."""

from sqlalchemy import select

from models import Learner
from service.api.errors import NotFound

# Learner ids are UUID strings; anything longer cannot be one (and is not sent to the database).
MAX_ID_LENGTH = 36


def learner(session, company_id, learner_id):
    """The company's learner with that SCIM id (DELETEd ones included), or NotFound."""
    if not learner_id or len(learner_id) > MAX_ID_LENGTH or "\x00" in learner_id:
        raise not_found_learner(learner_id)
    row = session.scalar(select(Learner).where(Learner.id == learner_id, Learner.company_id == company_id))
    if row is None:
        raise not_found_learner(learner_id)
    return row


def not_found_learner(learner_id):
    """The 404 for a learner id: the same whether it is unknown or another company's."""
    shown = (learner_id or "")[:MAX_ID_LENGTH].replace("\x00", "")
    return NotFound(f"No learner with id '{shown}' in your company.")
