"""The database out of reach: an honest 503 with ``Retry-After``, and one log line.

While PostgreSQL is down, restarting or failing over (or SQLite's file is locked for
longer than its timeout), a request cannot be served, and that is no bug of Herd's: the
client is told to come back (SCIM: a SCIM Error with status 503; ``/api/v1``: its JSON
error; the dashboard: a plain page), each with ``Retry-After``. Entra, Okta and the other
IdPs retry such answers. A 500 would say the opposite, and a traceback per request
would drown the logs of an expected outage: one warning line per process every
``LOG_EVERY`` seconds says what happened and how many requests it answered so.

Such an answer is not recorded among the company's failed SCIM calls: that table is in
the database that is away.
"""

import logging
import threading
import time

from flask import g
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from models.unreachable import is_unreachable
from service.edge import error_handlers
from service.errors import HerdError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
LOG_EVERY = 10.0
DETAIL = (
    f"Herd cannot reach its database right now. Retry after {RETRY_AFTER_SECONDS} seconds; "
    "a request answered so may not have been applied."
)


class DatabaseUnavailable(HerdError):
    """The database did not answer: 503, ``Retry-After``."""

    status = 503


class _Throttle:
    """At most one log line per ``every`` seconds, with the count of answers since the last."""

    def __init__(self, every):
        self.every = every
        self._lock = threading.Lock()
        self._last = -every
        self._since = 0

    def due(self):
        """None, or the number of 503s since the last line when a line is due now."""
        now = time.monotonic()
        with self._lock:
            self._since += 1
            if now - self._last < self.every:
                return None
            self._last, count, self._since = now, self._since, 0
            return count


_throttle = _Throttle(LOG_EVERY)


def render(exc):
    """The 503 for the current request's surface, logging one line now and then."""
    count = _throttle.due()
    if count is not None:
        cause = type(getattr(exc, "orig", None) or exc).__name__
        log.warning(
            "database unreachable (%s): answering 503 with Retry-After %ss (%d such answer%s in the last %ss)",
            cause,
            RETRY_AFTER_SECONDS,
            count,
            "" if count == 1 else "s",
            int(LOG_EVERY),
        )
    err = DatabaseUnavailable(DETAIL, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    response = error_handlers.render(err)
    # Nothing to record it in: service.edge.failures would try the database that is away.
    g.pop("scim_error", None)
    if isinstance(response, tuple):  # the dashboard's plain page
        body, status = response
        return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return response


def init_app(app):
    """Answer database outages with a 503; other database errors stay unexpected (a 500)."""

    def _database_error(exc):
        if is_unreachable(exc):
            return render(exc)
        return error_handlers.unexpected(exc)

    for kind in (DBAPIError, PoolTimeout):
        app.register_error_handler(kind, _database_error)
