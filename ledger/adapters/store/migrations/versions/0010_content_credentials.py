"""content_credentials and published_files: C2PA manifests of registered files, and the files this service signed
with Content Credentials for their publishers (issue 13)

Revision ID: 0010_content_credentials
Revises: 0009_batch_signatures
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_content_credentials"
down_revision = "0009_batch_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_credentials",
        sa.Column("content_hash", sa.String(length=66), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("manifest_id", sa.String(length=300), nullable=True),
        sa.Column("manifest_store", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
    )
    op.create_index("ix_content_credentials_manifest_id", "content_credentials", ["manifest_id"])
    op.create_table(
        "published_files",
        sa.Column("content_hash", sa.String(length=66), nullable=False),
        sa.Column("publisher", sa.String(length=42), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
    )
    op.create_index("ix_published_files_publisher", "published_files", ["publisher"])


def downgrade() -> None:
    op.drop_index("ix_published_files_publisher", table_name="published_files")
    op.drop_table("published_files")
    op.drop_index("ix_content_credentials_manifest_id", table_name="content_credentials")
    op.drop_table("content_credentials")
