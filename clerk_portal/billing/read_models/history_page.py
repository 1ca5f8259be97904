"""The billing-history page's reads, each in a transaction of its own off the event loop (the
page runs the first two side by side)."""

from __future__ import annotations

from sqlmodel import Session

from clerk_portal.billing import ledger
from clerk_portal.billing.read_models.history import (
    ActivityEntry,
    MonthTotal,
    activity_entries,
    chart_end,
    monthly_invoiced,
)
from clerk_portal.core.db import in_db
from clerk_portal.models import Workspace, utcnow


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
    """Twelve calendar months (UTC), oldest first, up to now or to the newest invoice's month
    when a demo clock dated it later."""

    def read(session: Session) -> list[MonthTotal]:
        end = chart_end(session, workspace_id=workspace_id, now=utcnow())
        return monthly_invoiced(session, workspace_id=workspace_id, now=end)

    return await in_db(read)


async def load_time_zone(workspace_id: int) -> str:
    """The workspace's time zone (IANA name), in which the page shows the activity's times."""

    def read(session: Session) -> str:
        workspace = session.get(Workspace, workspace_id)
        return workspace.time_zone if workspace is not None else "UTC"

    return await in_db(read)
