"""Helpers shared by test packages (fixtures live in conftest.py)."""

import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

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


@contextmanager
def scratch_database(db_url):
    """A fresh, empty PostgreSQL database next to the test one (``herd_drill_<hex>``), dropped after."""
    real = make_url(db_url)
    name = f"herd_drill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(real.set(drivername="postgresql+psycopg2", database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield real.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def empty_database(db_url, tmp_path):
    """An empty database of the kind under test: a scratch PostgreSQL one, or a new SQLite file."""
    if db_url.startswith("postgresql"):
        with scratch_database(db_url) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
