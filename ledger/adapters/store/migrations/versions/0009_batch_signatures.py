"""batches: the publisher's EIP-712 BatchAnchor signature the relayer sends with anchorBatchBySig (issue 12)

Revision ID: 0009_batch_signatures
Revises: 0008_heatmaps
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_batch_signatures"
down_revision = "0008_heatmaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: batches formed before this revision were anchored with anchorBatch from the publisher's account.
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("nonce", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("deadline", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(length=132), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("signature")
        batch.drop_column("deadline")
        batch.drop_column("nonce")
