"""The outbox relay: events carry ``published_at``; PostgreSQL notifies the relay on insert

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:20:00

The web app no longer publishes Celery messages inside the request: it commits the
event row, and ``workers/relay.py`` publishes what is unpublished. On PostgreSQL a
statement-level trigger sends ``NOTIFY herd_outbox`` with the inserting transaction,
delivered at its commit, so the relay wakes at once without an extra round trip from
the request. Existing rows count as published: the beat's relay still re-sends any
event that was never processed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("provisioning_events", sa.Column("published_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE provisioning_events SET published_at = created_at")
    op.create_index(
        "ix_events_unpublished",
        "provisioning_events",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION herd_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('herd_outbox', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER provisioning_events_notify AFTER INSERT ON provisioning_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION herd_outbox_notify()"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER provisioning_events_notify ON provisioning_events")
        op.execute("DROP FUNCTION herd_outbox_notify()")
    op.drop_index("ix_events_unpublished", table_name="provisioning_events")
    op.drop_column("provisioning_events", "published_at")
