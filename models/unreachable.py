"""Which database errors mean "the database is out of reach for now", not a bug.

The web answers them with a 503 and ``Retry-After`` (``service.edge.outage``); the workers'
periodic tasks log one line and wait for their next run. Everything else stays an
unexpected error, logged with its traceback.
"""

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLite's OperationalError also means a wrong statement ("no such column": a bug);
# only these messages say the file could not be used for now.
_SQLITE_AWAY = ("database is locked", "unable to open database", "disk i/o error")


def is_unreachable(exc):
    """Whether ``exc`` means the database could not be reached (or lent no connection in time):
    a dropped connection, a refused or failed connect, a server shutting down, a pool timeout."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    module = type(exc.orig).__module__ if exc.orig is not None else ""
    if module.startswith("sqlite3"):
        return str(exc.orig).lower().startswith(_SQLITE_AWAY)
    return True
