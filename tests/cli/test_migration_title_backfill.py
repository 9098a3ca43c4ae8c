"""Migration 0018: learners provisioned before 0017 get their title from their stored document.

An empty database (a scratch PostgreSQL one, or a new SQLite file) is brought to 0017, the
release before the backfill; learners are written as that release's SCIM write path stored
them before 0017 existed (the title only in the document); then ``./herd db upgrade``'s
``upgrade`` runs the rest.
"""

import uuid

import sqlalchemy as sa

from models import make_engine, utcnow
from models.db import Document
from models.migrate import upgrade
from tests.helpers import empty_database

LEARNERS = sa.table(
    "learners",
    *(sa.column(name) for name in ("id", "company_id", "user_name", "user_name_lower", "user_name_key")),
    sa.column("resource", Document),
    sa.column("training_tags", Document),
    sa.column("title"),
    sa.column("active", sa.Boolean),
    sa.column("version"),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)
COMPANIES = sa.table("companies", sa.column("id"), sa.column("name"), sa.column("created_at", sa.DateTime))


NOT_SENT = object()


def old_learner(user_name, sent=NOT_SENT, column=None):
    """A learner row as the write path stored it: ``sent`` is the document's ``title``, ``column``
    the column's value (None before 0017)."""
    doc = {"userName": user_name, "active": True}
    if sent is not NOT_SENT:
        doc["title"] = sent
    now = utcnow()
    return {
        "id": str(uuid.uuid4()),
        "company_id": 7,
        "user_name": user_name,
        "user_name_lower": user_name.lower(),
        "user_name_key": user_name.lower(),
        "resource": doc,
        "training_tags": [],
        "title": column,
        "active": True,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def test_upgrade_fills_titles_of_learners_stored_before_the_column(db_url, tmp_path):
    with empty_database(db_url, tmp_path) as url:
        upgrade(url, "0017")
        engine = make_engine(url)
        try:
            rows = [
                old_learner("ana@example.com", "Field Sales Manager"),
                old_learner("long@example.com", "x" * 400),
                old_learner("empty@example.com", ""),
                old_learner("number@example.com", 5),
                old_learner("none@example.com"),
                # Written by the 0017 write path already: left as it is.
                old_learner("kept@example.com", "Other", column="Kept"),
                # More than one batch of the migration (1,000): every batch is filled.
                *(old_learner(f"u{n:04d}@example.com", f"Nurse {n}") for n in range(1205)),
            ]
            with engine.begin() as conn:
                conn.execute(sa.insert(COMPANIES), {"id": 7, "name": "Acme", "created_at": utcnow()})
                conn.execute(sa.insert(LEARNERS), rows)

            upgrade(url)

            with engine.connect() as conn:
                titles = dict(conn.execute(sa.select(LEARNERS.c.user_name, LEARNERS.c.title)).all())
        finally:
            engine.dispose()
    assert titles["ana@example.com"] == "Field Sales Manager"
    assert titles["long@example.com"] == "x" * 300  # the write path's cut
    assert titles["empty@example.com"] is None
    assert titles["number@example.com"] is None  # not a string: the write path keeps none
    assert titles["none@example.com"] is None
    assert titles["kept@example.com"] == "Kept"
    assert all(titles[f"u{n:04d}@example.com"] == f"Nurse {n}" for n in range(1205))
