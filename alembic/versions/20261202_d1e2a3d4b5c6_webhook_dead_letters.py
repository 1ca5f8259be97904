"""webhook dead letters

`webhook_event.dead_at`: an event that can never be applied, or still failed after the last
attempt, is kept dead (not retried) until `python -m clerk_portal webhooks replay`.

Revision ID: d1e2a3d4b5c6
Revises: c4d5e6f7a8b9
Create Date: 2026-12-02 02:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "d1e2a3d4b5c6"
down_revision: str | None = "c4d5e6f7a8b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dead_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_column("dead_at")
