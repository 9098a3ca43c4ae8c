"""Helpers shared by test packages (fixtures live in conftest.py)."""

from sqlalchemy import select

from models import ProvisioningEvent


def run_events(sessions):
    """Process every pending provisioning event in order, as a worker would; returns their ids."""
    from workers.tasks import process

    with sessions() as s:
        ids = s.scalars(
            select(ProvisioningEvent.id).where(ProvisioningEvent.processed_at.is_(None)).order_by(ProvisioningEvent.id)
        ).all()
    for event_id in ids:
        with sessions() as s:
            process(s, event_id)
    return ids
