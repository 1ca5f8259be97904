"""The billing-history page's reads, each in a transaction of its own off the event loop (the
page runs the first two side by side)."""

from __future__ import annotations

from clerk_portal.billing import ledger
from clerk_portal.billing.read_models.history import (
    ActivityEntry,
    MonthTotal,
    activity_entries,
    monthly_invoiced,
)
from clerk_portal.core.db import in_db
from clerk_portal.models import utcnow


async def load_activity(
    workspace_id: int, *, limit: int, cursor: str | None = None
) -> ledger.Page[ActivityEntry]:
    """Newest first, `limit` at a time; pass `next_cursor` back for the next page."""
    return await in_db(
        lambda session: activity_entries(
            session, workspace_id=workspace_id, limit=limit, cursor=cursor
        )
    )


async def load_monthly_invoiced(workspace_id: int) -> list[MonthTotal]:
    """The last twelve calendar months (UTC) up to now, oldest first."""
    now = utcnow()
    return await in_db(
        lambda session: monthly_invoiced(session, workspace_id=workspace_id, now=now)
    )
