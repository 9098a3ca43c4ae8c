"""The latest cycle each learner owes, stored: learner_trainings.latest

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 11:40:00

``learner_trainings.latest`` is true on the latest cycle of each course family that is not
withdrawn: what the compliance report counts. It was computed on every view by ranking
every cycle of the company (a second at 100,000 learners); now it is kept on write
(``models/latest_cycle.py``) and backfilled here, with a partial index on the rows owed.
A partial index on overdue rows serves the learner list sorted by overdue count.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# The same computation as models/latest_cycle.OWED, frozen here as the schema's history.
BACKFILL = """
UPDATE learner_trainings SET latest = (
    status <> 'withdrawn' AND NOT EXISTS (
        SELECT 1 FROM learner_trainings AS newer
        WHERE newer.learner_id = learner_trainings.learner_id
          AND newer.family = learner_trainings.family
          AND newer.cycle > learner_trainings.cycle
          AND newer.status <> 'withdrawn'
    )
)
"""


def upgrade():
    # ADD COLUMN with a constant default: no copy of the table on either database.
    op.add_column("learner_trainings", sa.Column("latest", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(BACKFILL)
    op.create_index(
        "ix_learner_trainings_latest",
        "learner_trainings",
        ["company_id", "learner_id"],
        postgresql_where=sa.text("latest"),
        sqlite_where=sa.text("latest = 1"),
    )
    # The learner list sorted by overdue count (service/dashboard/learner_sort_joined.py).
    op.create_index(
        "ix_learner_trainings_overdue",
        "learner_trainings",
        ["company_id", "learner_id"],
        postgresql_where=sa.text("status = 'overdue'"),
        sqlite_where=sa.text("status = 'overdue'"),
    )


def downgrade():
    op.drop_index("ix_learner_trainings_overdue", table_name="learner_trainings")
    op.drop_index("ix_learner_trainings_latest", table_name="learner_trainings")
    with op.batch_alter_table("learner_trainings") as batch:
        batch.drop_column("latest")
