"""billing activity action key

One activity row per action: `billing_activity.action_key` (nullable, unique) names the action a
row records, so a double submit, a second tab or a retry of the same action finds the row
instead of writing a twin. Reviewed by hand: a nullable column and a unique constraint (portable;
NULLs do not collide on SQLite or PostgreSQL).

Revision ID: a1c7e0d4f2b9
Revises: b3c1d2e4f5a6
Create Date: 2026-12-01 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "a1c7e0d4f2b9"
down_revision: str | None = "b3c1d2e4f5a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_activity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("action_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_billing_activity_action_key"), ["action_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_activity", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_billing_activity_action_key"), type_="unique")
        batch_op.drop_column("action_key")
