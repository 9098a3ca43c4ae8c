"""Keyset paging helpers: a page costs the same on page 1 and page 2,000.

A cursor is the sort key of a row ("2026-01-31T14:05:00.123456~<id>"),
opaque to the admin. Rows are newest first; ``after`` walks to older rows,
``before`` back to newer ones.
"""

from datetime import datetime

from sqlalchemy import and_, func, or_, select


def encode(when, key):
    """The cursor of a row sorted by ``(when, key)``."""
    return f"{when.isoformat()}~{key}"


def decode(cursor):
    """``(datetime, key)`` from a cursor, or None when it is missing or malformed."""
    if not cursor or "~" not in cursor:
        return None
    when, _, key = cursor.partition("~")
    try:
        return datetime.fromisoformat(when), key
    except ValueError:
        return None


def older_than(when_col, key_col, when, key):
    """Rows strictly after ``(when, key)`` in newest-first order (spelled out: index friendly everywhere)."""
    return or_(when_col < when, and_(when_col == when, key_col < key))


def newer_than(when_col, key_col, when, key):
    return or_(when_col > when, and_(when_col == when, key_col > key))


def capped_count(session, query, cap):
    """``(count, capped)``: how many rows ``query`` matches, counting no further than ``cap``.

    ``query`` should select one narrow column so the database can answer from an index.
    """
    n = session.scalar(select(func.count()).select_from(query.order_by(None).limit(cap + 1).subquery()))
    return min(n, cap), n > cap
