"""billing engine

Columns the billing engine needs: the live-update version and the quantity-sync marker on the
billing account, the card's PaymentMethod id, the cancellation comment and the demo test clock;
the invoice's billing reason; the webhook inbox's lease, retry time and workspace.
Reviewed by hand: only added nullable columns or columns with a server default (portable).

Revision ID: 0739eba2b40b
Revises: 6c6de4709059
Create Date: 2026-11-26 09:16:49.914851
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0739eba2b40b"
down_revision: str | None = "6c6de4709059"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_comment", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "stripe_payment_method_id",
                sqlmodel.sql.sqltypes.AutoString(length=255),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "stripe_test_clock_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("mirror_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("quantities_dirty_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )

    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("billing_reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )

    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("workspace_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("workspace_id")

    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("billing_reason")

    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.drop_column("quantities_dirty_since")
        batch_op.drop_column("mirror_version")
        batch_op.drop_column("stripe_test_clock_id")
        batch_op.drop_column("stripe_payment_method_id")
        batch_op.drop_column("cancel_comment")
