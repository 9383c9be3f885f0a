"""named API keys and custody (issue 12): several keys per publisher, created / last used / revoked (the one key
each publisher had moves into the new table as "initial"); each registration says who holds the key that signed
it (`service` or `publisher`); lineage: a retraction's successor, and records found by their parent

Revision ID: 0007_keys_and_custody
Revises: 0006_local_features
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_keys_and_custody"
down_revision = "0006_local_features"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("publisher", sa.String(length=42), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
        sa.UniqueConstraint("key_hash"),
        sa.UniqueConstraint("publisher", "name", name="uq_api_keys_publisher_name"),
    )
    op.create_index("ix_api_keys_publisher", "api_keys", ["publisher"])
    op.execute(
        "INSERT INTO api_keys (key_id, publisher, name, key_hash, created_at) "
        "SELECT 'key_' || substr(api_key_hash, 1, 12), address, 'initial', api_key_hash, created_at "
        "FROM publisher_accounts"
    )
    with op.batch_alter_table("publisher_accounts") as batch:
        batch.drop_column("api_key_hash")
        batch.alter_column("keystore_file", existing_type=sa.Text(), nullable=True)  # NULL: the newsroom holds the key
    op.add_column("submissions", sa.Column("custody", sa.String(length=16), nullable=False, server_default="service"))
    # Lineage: a retraction may name the corrected image (its uid); records are found by their parent.
    op.add_column("retractions", sa.Column("successor", sa.String(length=66), nullable=True))
    op.create_index("ix_records_parent", "records", ["parent"])


def downgrade() -> None:
    op.drop_index("ix_records_parent", table_name="records")
    op.drop_column("retractions", "successor")
    op.drop_column("submissions", "custody")
    with op.batch_alter_table("publisher_accounts") as batch:
        batch.add_column(sa.Column("api_key_hash", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE publisher_accounts SET api_key_hash = (SELECT key_hash FROM api_keys WHERE api_keys.publisher = "
        "publisher_accounts.address AND api_keys.revoked_at IS NULL ORDER BY created_at LIMIT 1)"
    )
    op.drop_index("ix_api_keys_publisher", table_name="api_keys")
    op.drop_table("api_keys")
