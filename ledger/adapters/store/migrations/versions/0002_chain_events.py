"""chain events and indexed block hashes (reorg-safe mirror)

Revision ID: 0002_chain_events
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_chain_events"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_events",
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tx_hash", "log_index"),
    )
    op.create_index("ix_chain_events_block_number", "chain_events", ["block_number"])
    op.create_index("ix_chain_events_name", "chain_events", ["name"])
    op.create_table(
        "indexed_blocks",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("block_number"),
    )


def downgrade() -> None:
    op.drop_table("indexed_blocks")
    op.drop_index("ix_chain_events_name", table_name="chain_events")
    op.drop_index("ix_chain_events_block_number", table_name="chain_events")
    op.drop_table("chain_events")
