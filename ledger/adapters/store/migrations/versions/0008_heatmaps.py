"""heatmaps: change heatmaps of recent `edited` answers, shared by every API process and host (issue 10)

Revision ID: 0008_heatmaps
Revises: 0007_keys_and_custody
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_heatmaps"
down_revision = "0007_keys_and_custody"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heatmaps",
        sa.Column("verification_id", sa.String(length=64), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("verification_id"),
    )
    op.create_index("ix_heatmaps_expires_at", "heatmaps", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_heatmaps_expires_at", table_name="heatmaps")
    op.drop_table("heatmaps")
