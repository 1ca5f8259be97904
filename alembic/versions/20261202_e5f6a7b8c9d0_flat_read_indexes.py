"""indexes for reads that stay flat with the data

- `invoice (workspace_id, created, status, total_cents)`: the history chart's monthly sums read
  the index alone (no row), a range of the last twelve months;
- `membership (workspace_id, invited_at, id)`: the team page's keyset pages, oldest first;
- `phone_number (workspace_id, status, created_at, id)`: the numbers page's keyset pages.

Revision ID: e5f6a7b8c9d0
Revises: d1e2a3d4b5c6
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5f6a7b8c9d0"
down_revision: str | None = "d1e2a3d4b5c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    (
        "ix_invoice_workspace_created_totals",
        "invoice",
        ["workspace_id", "created", "status", "total_cents"],
    ),
    ("ix_membership_workspace_invited", "membership", ["workspace_id", "invited_at", "id"]),
    (
        "ix_phone_number_workspace_status_created",
        "phone_number",
        ["workspace_id", "status", "created_at", "id"],
    ),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
