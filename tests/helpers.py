"""Helpers shared by test packages (fixtures live in conftest.py)."""

from contextlib import contextmanager

from sqlalchemy import event, select

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


@contextmanager
def app_statements(app, normalize=False):
    """Every SQL statement the app sends inside the block, on its write and its read engine.

    ``normalize``: whitespace collapsed and lower-cased, for ``in`` checks on the text.
    """
    seen = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()).lower() if normalize else statement)

    engines = {id(e): e for e in (app.extensions["herd.engine"], app.extensions["herd.read_engine"])}
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", record)
