"""userName and group displayName unique after Unicode normalization and case folding

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 17:50:00

Adds ``learners.user_name_key`` and ``groups.display_name_key`` (NFC, case
folded, NFC again: ``models.normalize.name_key``), fills them from the stored
names, and moves the unique indexes onto them, so NFC and NFD ``josé`` (or
``JOSÉ``) are one learner. The names themselves are unchanged.

Rows that already collide under the new key (two live learners, or two groups,
whose names differ only in normalization) cannot both hold it: the oldest keeps
the key, each later one gets its id appended to it, and a warning lists them so
an operator can merge or rename them. Self-contained: the key function is
copied here, as a migration must not change when the application does.
"""

import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
KEY_WIDTH = 900


def _key(text):
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def _fill(table, name_column, key_column, live_column=None):
    """Compute every row's key in Python; a second live row with the same key gets its id appended."""
    conn = op.get_bind()
    columns = ["id", "company_id", name_column] + ([live_column] if live_column else [])
    rows = conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY created_at, id")).all()
    seen, updates = set(), []
    for row in rows:
        key = _key(row[2] or "")[:KEY_WIDTH]
        live = live_column is None or row[3] is None
        if live and (row[1], key) in seen:
            log.warning(
                "%s %s: %s collides with an older row after normalization; key disambiguated",
                table,
                row[0],
                name_column,
            )
            key = f"{key[: KEY_WIDTH - 40]} [{row[0]}]"
        elif live:
            seen.add((row[1], key))
        updates.append({"row_id": row[0], "key": key})
    if updates:
        conn.execute(sa.text(f"UPDATE {table} SET {key_column} = :key WHERE id = :row_id"), updates)


def upgrade():
    # learners has expression indexes that SQLite's batch mode (a table copy) would lose:
    # plain operations there; the key is NOT NULL on PostgreSQL (the model always sets it).
    op.add_column("learners", sa.Column("user_name_key", sa.String(KEY_WIDTH), nullable=True))
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("display_name_key", sa.String(KEY_WIDTH), nullable=True))
    _fill("learners", "user_name", "user_name_key", live_column="deleted_at")
    _fill("groups", "display_name", "display_name_key")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("learners", "user_name_key", existing_type=sa.String(KEY_WIDTH), nullable=False)
    op.drop_index("uq_learners_company_username", table_name="learners")
    op.drop_index("ix_learners_company_username_all", table_name="learners")
    op.create_index(
        "uq_learners_company_username",
        "learners",
        ["company_id", "user_name_key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_learners_company_username_all", "learners", ["company_id", "user_name_key"])
    with op.batch_alter_table("groups") as batch:
        batch.alter_column("display_name_key", existing_type=sa.String(KEY_WIDTH), nullable=False)
        batch.drop_constraint("uq_groups_company_display_name", type_="unique")
        batch.create_unique_constraint("uq_groups_company_display_name", ["company_id", "display_name_key"])


def downgrade():
    with op.batch_alter_table("groups") as batch:
        batch.drop_constraint("uq_groups_company_display_name", type_="unique")
        batch.create_unique_constraint("uq_groups_company_display_name", ["company_id", "display_name_lower"])
        batch.drop_column("display_name_key")
    op.drop_index("ix_learners_company_username_all", table_name="learners")
    op.drop_index("uq_learners_company_username", table_name="learners")
    op.create_index(
        "uq_learners_company_username",
        "learners",
        ["company_id", "user_name_lower"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index("ix_learners_company_username_all", "learners", ["company_id", "user_name_lower"])
    op.drop_column("learners", "user_name_key")
