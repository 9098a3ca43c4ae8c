"""Learners' job title, and the sanitised body of a failed SCIM call

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 10:10:00

``learners.title``: the SCIM ``title`` attribute as sent, extracted so the dashboard's
learner list can sort and search by it (indexed per company, like the other sort keys).
``scim_failures.request_body``: what the failing call sent, with secrets replaced and
its size bounded (``service/edge/failures.py``), so Provisioning activity can show it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (SQLite has it too): no copy of either table.
    op.add_column("learners", sa.Column("title", sa.String(length=300), nullable=True))
    op.create_index("ix_learners_company_title", "learners", ["company_id", "title", "id"])
    op.add_column("scim_failures", sa.Column("request_body", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("scim_failures") as batch:
        batch.drop_column("request_body")
    op.drop_index("ix_learners_company_title", table_name="learners")
    with op.batch_alter_table("learners") as batch:
        batch.drop_column("title")
