"""retraction requests (outbox of revoke transactions)

Revision ID: 0005_retractions
Revises: 0004_batches
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_retractions"
down_revision = "0004_batches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retractions",
        sa.Column("uid", sa.String(length=66), nullable=False),
        sa.Column("publisher", sa.String(length=42), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uid"),
    )
    op.create_index("ix_retractions_status", "retractions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_retractions_status", table_name="retractions")
    op.drop_table("retractions")
