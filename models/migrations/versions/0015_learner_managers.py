"""Learners' managers: the enterprise manager reference as sent, and the learner it names

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:30:00

``learners.manager_ref``: the enterprise extension's ``manager.value`` as sent (an id
or an externalId, case folded); ``learners.manager_id``: the learner of the same
company it names, kept by the worker (``models/managers.py``) whichever of the two
arrives first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (SQLite has it too): no copy of the learners table.
    op.add_column("learners", sa.Column("manager_ref", sa.String(length=300), nullable=True))
    op.add_column("learners", sa.Column("manager_id", sa.String(length=36), nullable=True))
    op.create_index("ix_learners_company_manager", "learners", ["company_id", "manager_id"])
    op.create_index("ix_learners_company_manager_ref", "learners", ["company_id", "manager_ref"])


def downgrade():
    op.drop_index("ix_learners_company_manager_ref", table_name="learners")
    op.drop_index("ix_learners_company_manager", table_name="learners")
    with op.batch_alter_table("learners") as batch:
        batch.drop_column("manager_id")
        batch.drop_column("manager_ref")
