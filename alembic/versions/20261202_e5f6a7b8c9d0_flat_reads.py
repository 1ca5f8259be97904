"""reads that stay flat with the data: kept monthly totals, keyset indexes

- `invoice_month`: what each workspace was invoiced per calendar month (UTC), kept by
  `ledger.upsert_invoice`; filled here from the invoices already mirrored;
- `membership (workspace_id, invited_at, id)`: the team page's keyset pages, oldest first;
- `phone_number (workspace_id, status, created_at, id)`: the numbers page's keyset pages.

Revision ID: e5f6a7b8c9d0
Revises: d1e2a3d4b5c6
Create Date: 2026-12-02 17:00:00.000000
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "e5f6a7b8c9d0"
down_revision: str | None = "d1e2a3d4b5c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVOICED_STATUSES = ("open", "paid", "uncollectible")
INDEXES = (
    ("ix_membership_workspace_invited", "membership", ["workspace_id", "invited_at", "id"]),
    (
        "ix_phone_number_workspace_status_created",
        "phone_number",
        ["workspace_id", "status", "created_at", "id"],
    ),
)


def upgrade() -> None:
    months = op.create_table(
        "invoice_month",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("invoiced_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_invoice_month_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "month"),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    invoice = sa.table(
        "invoice",
        sa.column("workspace_id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("total_cents", sa.Integer()),
        sa.column("created", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    totals: dict[tuple[int, int], int] = defaultdict(int)
    rows = op.get_bind().execute(
        sa.select(invoice.c.workspace_id, invoice.c.created, invoice.c.total_cents).where(
            invoice.c.status.in_(INVOICED_STATUSES)
        )
    )
    for workspace_id, created, cents in rows:
        utc = created.astimezone(UTC)
        totals[(workspace_id, utc.year * 12 + utc.month - 1)] += cents
    if totals:
        op.bulk_insert(
            months,
            [
                {"workspace_id": workspace_id, "month": month, "invoiced_cents": cents}
                for (workspace_id, month), cents in totals.items()
            ],
        )


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("invoice_month")
