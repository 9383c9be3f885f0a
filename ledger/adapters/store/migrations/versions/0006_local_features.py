"""local features: keypoints and descriptors of registered pictures for the wild path (issue 9)

Revision ID: 0006_local_features
Revises: 0005_retractions
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_local_features"
down_revision = "0005_retractions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "local_features",
        sa.Column("content_hash", sa.String(length=66), nullable=False),
        sa.Column("scheme", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
    )


def downgrade() -> None:
    op.drop_table("local_features")
