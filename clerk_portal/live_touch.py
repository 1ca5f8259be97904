"""Raise a workspace's live version inside the caller's transaction.

Open tabs follow `BillingAccount.mirror_version` (`billing.live.wait_for_change`). Mirror writes
raise it; a team or numbers change raises it too, in the same transaction as the change, so no
tab can see the new version before the change is visible (or miss it if the change rolls back).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from clerk_portal.models import BillingAccount


def touch(session: Session, *, workspace_id: int) -> None:
    session.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.workspace_id) == workspace_id)
        .values(mirror_version=BillingAccount.mirror_version + 1)
    )
