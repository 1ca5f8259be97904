"""upgrade claim

The billing account's one upgrade in progress: an attempt number (the subscription's idempotency
key), the SetupIntent of the tab holding it and when it was taken. Only added nullable columns
or columns with a server default (portable).

Revision ID: b7e1c2d3a4f5
Revises: a1c7e0d4f2b9
Create Date: 2026-12-01 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "b7e1c2d3a4f5"
down_revision: str | None = "a1c7e0d4f2b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("upgrade_attempt", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("upgrade_claim", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(
            sa.Column("upgrade_claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.drop_column("upgrade_claimed_at")
        batch_op.drop_column("upgrade_claim")
        batch_op.drop_column("upgrade_attempt")
