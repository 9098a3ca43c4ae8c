"""Learners' title filled in from their stored SCIM document

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 11:45:00

0017 added ``learners.title``, which the write path fills from then on; a learner
provisioned before it has its title only in the stored document (``resource``), so the
learner list and the CSV showed it blank until the IdP next sent that learner. This fills
the column from the document with the write path's rule (``users/mapping.apply_document``:
a non-empty string, cut to 300 characters; anything else leaves it empty), a batch of
learners at a time in id order, so neither database holds more than one batch in memory.
Only rows whose title is still empty are read: a learner written since 0017 is left as
the write path made it. Self-contained: the rule is copied here, as a migration must not
change when the application does.

Downgrade leaves the values: the column is 0017's, and it drops them.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BATCH = 1000
TITLE_WIDTH = 300


def _title(resource):
    """The write path's title: a non-empty string cut to the column's width, else None."""
    if isinstance(resource, (str, bytes)):  # SQLite hands JSON back as text
        resource = json.loads(resource)
    title = resource.get("title") if isinstance(resource, dict) else None
    return title[:TITLE_WIDTH] if isinstance(title, str) and title else None


def _has_title(dialect):
    """SQL that keeps only documents holding a ``title`` key (the rest need no reading)."""
    if dialect == "postgresql":
        return "resource -> 'title' IS NOT NULL"
    return "json_type(resource, '$.title') IS NOT NULL"


def upgrade():
    conn = op.get_bind()
    select_batch = sa.text(
        "SELECT id, resource FROM learners "
        f"WHERE title IS NULL AND id > :after AND {_has_title(conn.dialect.name)} "
        "ORDER BY id LIMIT :batch"
    )
    update = sa.text("UPDATE learners SET title = :title WHERE id = :row_id AND title IS NULL")
    after = ""
    while True:
        rows = conn.execute(select_batch, {"after": after, "batch": BATCH}).all()
        if not rows:
            break
        updates = [{"row_id": row_id, "title": title} for row_id, resource in rows if (title := _title(resource))]
        if updates:
            conn.execute(update, updates)
        after = rows[-1][0]


def downgrade():
    pass
