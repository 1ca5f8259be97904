"""invoiced customers

Invoiced (enterprise) customers (issue 14): `billing_account.collection_method` and
`days_until_due` (Stripe's `send_invoice`), and on `invoice` its `collection_method`, `due_date`
and `overdue` (set by Stripe's `invoice.overdue`). Revises f2a3b4c5d6e7 (tax_id_type).

Revision ID: a3b4c5d6e7f8
Revises: f2a3b4c5d6e7
Create Date: 2026-12-04 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "a3b4c5d6e7f8"
down_revision: str | None = "f2a3b4c5d6e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _collection_method() -> sa.Column:
    return sa.Column(
        "collection_method",
        sqlmodel.sql.sqltypes.AutoString(length=24),
        nullable=False,
        server_default="charge_automatically",
    )


def upgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.add_column(_collection_method())
        batch_op.add_column(sa.Column("days_until_due", sa.Integer(), nullable=True))
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(_collection_method())
        batch_op.add_column(
            sa.Column("due_date", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("overdue", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("overdue")
        batch_op.drop_column("due_date")
        batch_op.drop_column("collection_method")
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.drop_column("days_until_due")
        batch_op.drop_column("collection_method")
