"""quantity syncs

How many quantity updates the portal has applied to the billing account's subscription: part of
the update's idempotency key, so concurrent workers agree on one key whatever else moved the
mirror version meanwhile. A column with a server default (portable).

Revision ID: c4d5e6f7a8b9
Revises: b7e1c2d3a4f5
Create Date: 2026-12-01 23:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "c4d5e6f7a8b9"
down_revision: str | None = "b7e1c2d3a4f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quantity_syncs", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.drop_column("quantity_syncs")
