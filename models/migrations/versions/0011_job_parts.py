"""Parts of a job, so that several workers share a company re-run

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 20:00:00

``job_parts``: one range of learner ids of a job (``after`` exclusive, ``until``
inclusive), with its own cursor and counts; a re-run fans out one task per part
(workers/rerun.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("after", sa.String(length=36), nullable=True),
        sa.Column("until", sa.String(length=36), nullable=True),
        sa.Column("cursor", sa.String(length=36), nullable=True),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("added", sa.Integer(), server_default="0", nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_parts_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_parts")),
    )
    op.create_index("ix_job_parts_job_id", "job_parts", ["job_id", "id"])


def downgrade():
    op.drop_index("ix_job_parts_job_id", table_name="job_parts")
    op.drop_table("job_parts")
