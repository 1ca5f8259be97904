"""sales quotes and staff

`sales_quote`: a rep's quote for a prospect (Stripe's quote id, the share link's token, terms,
totals, status, who accepted it); `app_user.is_staff`: Clerk Chat staff (sales reps), from the
identity provider's verified email domain. Revises f2a3b4c5d6e7 (tax_id_type), the single head.

Revision ID: a7b8c9d0e1f2
Revises: a4b5c6d7e8f9
Create Date: 2026-12-04 01:25:16.688757
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "a7b8c9d0e1f2"
down_revision: str | None = "a4b5c6d7e8f9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sales_quote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("stripe_quote_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column(
            "stripe_customer_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("plan", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("interval", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("numbers", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("discount_label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("subtotal_cents", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("recurring_cents", sa.Integer(), nullable=False),
        sa.Column("prospect_company", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("prospect_email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("accepted_workspace_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("interval IN ('month', 'year')", name=op.f("ck_sales_quote_interval")),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'accepted', 'expired', 'canceled')",
            name=op.f("ck_sales_quote_status"),
        ),
        sa.ForeignKeyConstraint(
            ["accepted_workspace_id"],
            ["workspace.id"],
            name=op.f("fk_sales_quote_accepted_workspace_id_workspace"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["app_user.id"],
            name=op.f("fk_sales_quote_created_by_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stripe_quote_id", name=op.f("uq_sales_quote_stripe_quote_id")),
        sa.UniqueConstraint("token", name=op.f("uq_sales_quote_token")),
    )
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_staff", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("is_staff")

    op.drop_table("sales_quote")
