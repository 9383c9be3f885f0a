"""Merkle batches, batch items and retractions in the mirror

Revision ID: 0004_batches
Revises: 0002_chain_events
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_batches"
down_revision = "0002_chain_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("publisher", sa.String(length=42), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("tree", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("anchored_block", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("publisher", "root"),
    )
    with op.batch_alter_table("records") as batch:
        batch.drop_constraint("uq_records_tx_log", type_="unique")
        batch.add_column(sa.Column("batch_root", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("leaf_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("revoke_code", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("revoke_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.String(length=42), nullable=True))
        batch.add_column(sa.Column("revoked_by_admin", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("revoked_block", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("batch_root", sa.String(length=66), nullable=True))
        batch.add_column(sa.Column("leaf_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("proof", sa.Text(), nullable=True))
        batch.create_index("ix_submissions_batch_root", ["batch_root"])


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index("ix_submissions_batch_root")
        for column in ("proof", "leaf_index", "batch_root"):
            batch.drop_column(column)
    with op.batch_alter_table("records") as batch:
        for column in ("revoked_block", "revoked_by_admin", "revoked_by", "revoke_reason", "revoke_code", "revoked_at",
                       "leaf_index", "batch_root"):  # fmt: skip
            batch.drop_column(column)
        batch.create_unique_constraint("uq_records_tx_log", ["tx_hash", "log_index"])
    op.drop_table("batches")
