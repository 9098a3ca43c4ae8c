"""A request's first statement, retried once on a connection the database dropped.

The autocommit pool, which serves most SCIM requests, does not ping a connection before
lending it (a round trip per request, about a tenth of a web worker's time; the
transaction pool does, service/db/__init__.py). A connection that PostgreSQL closed meanwhile
(a restart, a failover, an idle timeout on the way) then fails on its first statement.
SQLAlchemy recognises the disconnect, discards that connection and marks every
connection older than it as stale (the pool replaces them on their next checkout), so
one retry on a fresh connection is enough. Only a request's first statement is
retried: nothing has been read or written in its transaction yet, so running it again
changes nothing. A drop in the middle of a request still fails that request (a 500
with a generic body, rolled back), and the next one gets a fresh connection.
"""

from sqlalchemy.exc import DBAPIError


def first_read(engine, statement, params):
    """Every row of ``statement`` (a ``models.prebuilt.Prebuilt`` SELECT), on a connection of
    its own returned at once (autocommit reads); once more on a fresh connection if the
    first was dead."""
    for attempt in (1, 2):
        try:
            return statement.lent_rows(engine, params)
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    return None  # not reached: the second attempt returns or raises


def first_statement(session, statement, params):
    """Every row of ``statement`` (a ``models.prebuilt.Prebuilt`` SELECT) as the first
    statement of ``session``'s transaction; once more on a fresh connection if the first was dead."""
    try:
        return statement.rows(session.connection(), params)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        session.rollback()
        return statement.rows(session.connection(), params)
