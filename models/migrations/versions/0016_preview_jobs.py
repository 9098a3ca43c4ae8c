"""Preview jobs: the change a dashboard preview looks at, and what it found

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 10:10:00

``jobs.change``: the Smart Assign change a preview job looks at, as the spec of
``workers/preview_spec.py``; ``jobs.result``: the preview document once it is done.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("jobs", sa.Column("change", sa.JSON(), nullable=True))
    op.add_column("jobs", sa.Column("result", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("jobs", "result")
    op.drop_column("jobs", "change")
