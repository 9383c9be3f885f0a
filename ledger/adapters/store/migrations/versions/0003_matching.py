"""matching: hashes for the match index and reduced reference copies (issue 4)

Revision ID: 0003_matching
Revises: 0001
Create Date: 2026-11-28 17:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_matching"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_fingerprints",
        sa.Column("content_hash", sa.String(length=66), nullable=False),
        sa.Column("scheme", sa.Integer(), nullable=False),
        sa.Column("pdq_quality", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("variants", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
    )
    op.create_table(
        "reference_copies",
        sa.Column("content_hash", sa.String(length=66), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("source_width", sa.Integer(), nullable=False),
        sa.Column("source_height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
    )


def downgrade() -> None:
    op.drop_table("reference_copies")
    op.drop_table("match_fingerprints")
