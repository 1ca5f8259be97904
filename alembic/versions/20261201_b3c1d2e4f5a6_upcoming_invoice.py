"""upcoming invoice

Stripe's preview of the subscription's next invoice, mirrored on the billing account so the
billing page shows what Stripe will bill (pending prorations included) without calling Stripe.
Reviewed by hand: two nullable columns (portable).

Revision ID: b3c1d2e4f5a6
Revises: 0739eba2b40b
Create Date: 2026-12-01 22:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "b3c1d2e4f5a6"
down_revision: str | None = "0739eba2b40b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upcoming_invoice_cents", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("upcoming_invoice_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.drop_column("upcoming_invoice_at")
        batch_op.drop_column("upcoming_invoice_cents")
