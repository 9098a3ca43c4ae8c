"""Per-company attribute mapping for Smart Assign; the custom attributes a company's IdP sends

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 18:00:00

``companies.attribute_mapping``: where each Smart Assign input is read from (NULL
means the defaults of models/attribute_mapping.py). ``companies.custom_attributes``:
the undeclared attributes its IdP has sent, which stay filterable.
``learners.department`` and ``learners.attribute_sources``: the extracted department
and which source gave each input (shown on the learner page).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("attribute_mapping", _JSON, nullable=True))
        batch.add_column(sa.Column("custom_attributes", _JSON, nullable=True))
    with op.batch_alter_table("learners") as batch:
        batch.add_column(sa.Column("department", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("attribute_sources", _JSON, nullable=True))


def downgrade():
    with op.batch_alter_table("learners") as batch:
        batch.drop_column("attribute_sources")
        batch.drop_column("department")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("custom_attributes")
        batch.drop_column("attribute_mapping")
