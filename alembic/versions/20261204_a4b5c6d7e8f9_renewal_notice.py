"""renewal notice

`billing_account.renewal_notice_at` and `renewal_notice_cents`: the renewal Stripe announced with
`invoice.upcoming` (when, and what its preview charges), for the billing page's notice until
that renewal is paid.

Revision ID: a4b5c6d7e8f9
Revises: a3b4c5d6e7f8
Create Date: 2026-12-04 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "a4b5c6d7e8f9"
down_revision: str | None = "a3b4c5d6e7f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("renewal_notice_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("renewal_notice_cents", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_account", schema=None) as batch_op:
        batch_op.drop_column("renewal_notice_cents")
        batch_op.drop_column("renewal_notice_at")
