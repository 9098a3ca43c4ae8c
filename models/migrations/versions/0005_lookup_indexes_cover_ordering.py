"""Entra's externalId and work-email lookups: the index also yields the page order

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:35:00

Without planner statistics (a new tenant's first import, autovacuum off) the
page query ``... ORDER BY created_at, id`` otherwise walks another index.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_learners_company_external_id": "external_id_lower",
    "ix_learners_company_email": "email_lower",
}


def upgrade():
    for name, column in _INDEXES.items():
        op.drop_index(name, table_name="learners")
        op.create_index(name, "learners", ["company_id", column, "created_at", "id"])


def downgrade():
    for name, column in _INDEXES.items():
        op.drop_index(name, table_name="learners")
        op.create_index(name, "learners", ["company_id", column])
