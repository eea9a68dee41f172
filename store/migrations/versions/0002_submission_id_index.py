"""index submissions by API key and submission id (an LMS looks its grades up by its own ids)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 17:12:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_submissions_key_submission", "submissions", ["key_id", "submission_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_submissions_key_submission", table_name="submissions")
