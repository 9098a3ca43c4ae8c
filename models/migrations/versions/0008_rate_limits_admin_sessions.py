"""Per-company rate limits; server-side admin sessions (generation) and disabled admins

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 17:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("companies") as batch_op:
        # NULL: the installation's default (RATE_LIMIT_PER_SECOND / RATE_LIMIT_PER_MINUTE); 0: no limit.
        batch_op.add_column(sa.Column("rate_limit_per_second", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True))
    with op.batch_alter_table("admins") as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("admins") as batch_op:
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("session_generation")
    with op.batch_alter_table("companies") as batch_op:
        batch_op.drop_column("rate_limit_per_minute")
        batch_op.drop_column("rate_limit_per_second")
