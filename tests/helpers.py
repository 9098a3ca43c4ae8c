"""Helpers shared by test packages (fixtures live in conftest.py)."""

from sqlalchemy import select

from models import ProvisioningEvent


def run_events(sessions):
    """Process every pending provisioning event in order, as the workers would: in the lists
    the relay publishes, each one transaction (``process_many``); returns their ids."""
    from workers.tasks import in_messages, process_many

    with sessions() as s:
        ids = s.scalars(
            select(ProvisioningEvent.id).where(ProvisioningEvent.processed_at.is_(None)).order_by(ProvisioningEvent.id)
        ).all()
    for message in in_messages(ids):
        process_many(sessions, message)
    return ids
