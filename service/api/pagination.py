"""Offset pages counted and cut by the database."""

from sqlalchemy import func, select


def page_of(session, query, page, per_page):
    """``(rows, total)`` for one page of ``query`` (which must already be ordered stably)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return rows, total


def paged_body(items, page, per_page, total):
    """The API's page envelope."""
    return {"data": items, "meta": {"page": page, "per_page": per_page, "total": total}}
