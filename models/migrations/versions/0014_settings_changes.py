"""The admin audit trail: settings_changes (who changed which company setting, before and after)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 09:30:00

One row per change of a company setting (attribute mapping, catalog, due period,
industry, group rules, tokens, OAuth clients and secrets), with the values before
and after; secrets are never stored. Read newest first per company.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "settings_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("setting", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("before", _JSON, nullable=True),
        sa.Column("after", _JSON, nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_settings_changes_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_changes")),
    )
    with op.batch_alter_table("settings_changes", schema=None) as batch_op:
        batch_op.create_index("ix_settings_changes_company_occurred", ["company_id", "occurred_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("settings_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_settings_changes_company_occurred")
    op.drop_table("settings_changes")
