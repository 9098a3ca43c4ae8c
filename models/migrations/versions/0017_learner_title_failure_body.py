"""Learners' job title, and the sanitised body of a failed SCIM call

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:10:00

``learners.title``: the SCIM ``title`` attribute as sent, extracted so the dashboard's
learner list can sort and search by it. One index per sort key of the list (name,
department, title, region: ``service/dashboard/learner_sort.py``), each its expression
exactly as the query spells it, then the id, so a page of a sorted list is an index range.
``scim_failures.request_body``: what the failing call sent, with secrets replaced and
its size bounded (``service/edge/failures.py``), so Provisioning activity can show it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

SORT_KEYS = {
    "name": "lower(coalesce(display_name, user_name))",
    "department": "coalesce(department, '')",
    "title": "coalesce(title, '')",
    "region": "coalesce(region, country, '')",
}


def upgrade():
    # Plain ADD COLUMN (SQLite has it too): no copy of either table.
    op.add_column("learners", sa.Column("title", sa.String(length=300), nullable=True))
    for name, expression in SORT_KEYS.items():
        op.create_index(f"ix_learners_sort_{name}", "learners", ["company_id", sa.text(expression), "id"])
    op.add_column("scim_failures", sa.Column("request_body", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("scim_failures") as batch:
        batch.drop_column("request_body")
    for name in SORT_KEYS:
        op.drop_index(f"ix_learners_sort_{name}", table_name="learners")
    with op.batch_alter_table("learners") as batch:
        batch.drop_column("title")
