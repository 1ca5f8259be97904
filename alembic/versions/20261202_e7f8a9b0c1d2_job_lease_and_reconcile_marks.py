"""job lease and reconcile marks

`job_lease`: who runs the periodic jobs of the deployment (SQLite; PostgreSQL holds an advisory
lock instead). `billing_account.reconciled_at` / `reconciled_version`: when reconcile last checked
the account and which mirror version it saw, so that each run takes a page of the accounts
changed since or unseen for a while, oldest first (indexed).

Revision ID: e7f8a9b0c1d2
Revises: e5f6a7b8c9d0
Create Date: 2026-12-02 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "e7f8a9b0c1d2"
down_revision: str | None = "e5f6a7b8c9d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_lease",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("acquired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reconciled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("reconciled_version", sa.Integer(), nullable=True))
        batch_op.create_index("ix_billing_account_reconciled_at", ["reconciled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_account_reconciled_at")
        batch_op.drop_column("reconciled_version")
        batch_op.drop_column("reconciled_at")
    op.drop_table("job_lease")
