"""The learner list sorted by a column (name, department, title, region), keyset paged.

Each sort key is one SQL expression with an index on ``(company_id, expression, id)``
(``models/learner.py``), so a page is an index range whatever its depth: the cursor
is the last row's ``(key, id)`` and the next page starts strictly after it (a row
value comparison, which PostgreSQL and SQLite serve from the index). A missing
value sorts as '' (first), so every learner has a place in the order.
"""

from sqlalchemy import func, literal_column, select, tuple_

from models import Learner

EMPTY = literal_column("''")
# The expressions must read exactly as the indexes do (models/learner.py) for the planner to use them.
KEYS = {
    "name": lambda: func.lower(func.coalesce(Learner.display_name, Learner.user_name)),
    "department": lambda: func.coalesce(Learner.department, EMPTY),
    "title": lambda: func.coalesce(Learner.title, EMPTY),
    "region": lambda: func.coalesce(Learner.region, Learner.country, EMPTY),
}
SORTS = [("", "Newest first"), ("name", "Name"), ("department", "Department"), ("title", "Title"), ("region", "Region")]


def encode(key, learner_id):
    """The cursor of a row sorted by ``(key, id)`` (an id never holds '~'; a key may)."""
    return f"{key}~{learner_id}"


def decode(cursor):
    """``(key, id)`` from a cursor, or None when it is missing or malformed."""
    if not cursor or "~" not in cursor:
        return None
    key, _, learner_id = cursor.rpartition("~")
    return key, learner_id


def sorted_page(session, sort, conds, after, before, page_size):
    """``(rows with their keys, has_later, has_earlier)``: one page of learners in ``sort`` order."""
    key = KEYS[sort]().label("sort_key")
    query = select(Learner, key).where(*conds)
    position = tuple_(KEYS[sort](), Learner.id)
    after, before = decode(after), decode(before)
    if before:
        rows = session.execute(
            query.where(position < tuple_(*before)).order_by(key.desc(), Learner.id.desc()).limit(page_size + 1)
        ).all()
        return list(reversed(rows[:page_size])), True, len(rows) > page_size
    if after:
        query = query.where(position > tuple_(*after))
    rows = session.execute(query.order_by(key, Learner.id).limit(page_size + 1)).all()
    return rows[:page_size], len(rows) > page_size, after is not None


def sorted_few(session, sort, ids, conds, after, before, page_size):
    """The same over at most a search's few known ids: their keys by primary key, ordered here."""
    keys = []
    if ids:
        keys = sorted(session.execute(select(KEYS[sort](), Learner.id).where(Learner.id.in_(ids), *conds)).all())
    after, before = decode(after), decode(before)
    if before:
        earlier = [k for k in keys if tuple(k) < before]
        window, has_later, has_earlier = earlier[-page_size:], True, len(earlier) > page_size
    else:
        later = [k for k in keys if tuple(k) > after] if after else keys
        window, has_later, has_earlier = later[:page_size], len(later) > page_size, after is not None
    by_id = {}
    if window:
        by_id = {r.id: r for r in session.scalars(select(Learner).where(Learner.id.in_([i for _, i in window])))}
    return [(by_id[i], k) for k, i in window], has_later, has_earlier, len(keys)
