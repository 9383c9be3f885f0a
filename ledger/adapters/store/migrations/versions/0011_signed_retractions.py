"""retractions: the publisher's EIP-712 Revocation signature the relayer sends with revokeBySig (issue 12)

Revision ID: 0011_signed_retractions
Revises: 0010_content_credentials
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_signed_retractions"
down_revision = "0010_content_credentials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: a retraction of a service-held publisher is sent with revoke from the publisher's account, unsigned.
    with op.batch_alter_table("retractions") as batch:
        batch.add_column(sa.Column("nonce", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("deadline", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("signature", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("retractions") as batch:
        batch.drop_column("signature")
        batch.drop_column("deadline")
        batch.drop_column("nonce")
