"""match_fingerprints.upload_query: the registered file's fingerprint as verify by upload answers it (issue 10)

Revision ID: 0012_upload_query
Revises: 0011_signed_retractions
Depends on: 0003_matching (match_fingerprints is made on that branch)
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_upload_query"
down_revision = "0011_signed_retractions"
branch_labels = None
depends_on = "0003_matching"


def upgrade() -> None:
    # Nullable: rows written before this revision (and pictures registered elsewhere, which have no row) keep NULL,
    # and an upload of their file is decoded as before. The original bytes are not kept, so they cannot be filled in.
    with op.batch_alter_table("match_fingerprints") as batch:
        batch.add_column(sa.Column("upload_query", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("match_fingerprints") as batch:
        batch.drop_column("upload_query")
