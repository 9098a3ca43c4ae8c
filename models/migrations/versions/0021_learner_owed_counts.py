"""What each learner owes, counted by status, stored: learners.owed_*

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:40:00

``learners.owed_count``, ``owed_in_progress``, ``owed_overdue`` and ``owed_completed`` count
the rows a learner owes (``learner_trainings.latest``, not archived or withdrawn) by status.
The compliance report counted them per learner on every view, joining 100,000 learners to
their assignments twice more per page (the learners behind, the managers ranked); now they
are kept on write (``models/learner_standing.py``) and backfilled here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

COLUMNS = {
    "owed_count": "",
    "owed_in_progress": " AND status = 'in_progress'",
    "owed_overdue": " AND status = 'overdue'",
    "owed_completed": " AND status = 'completed'",
}
# The same computation as models/learner_standing.refresh, frozen here as the schema's history.
BACKFILL = "UPDATE learners SET " + ", ".join(
    f"{column} = (SELECT count(*) FROM learner_trainings WHERE learner_trainings.learner_id = learners.id"
    f" AND latest AND status NOT IN ('archived', 'withdrawn'){status})"
    for column, status in COLUMNS.items()
)


def upgrade():
    # ADD COLUMN with a constant default: no copy of the table on either database.
    for column in COLUMNS:
        op.add_column("learners", sa.Column(column, sa.Integer(), nullable=False, server_default="0"))
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table("learners") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
