"""Live updates: a per-workspace counter (`BillingAccount.mirror_version`) that every change raises.

`touch` raises it inside the caller's transaction: mirror writes do, and a team or numbers change
does too, in the same transaction as the change, so no tab can see the new version before the
change is visible (or miss it if the change rolls back).

Each open tab has one watcher (the shell's, `SessionState.watch_live`): it calls
`wait_for_change(workspace_id, since)` in a loop and, when it returns another number, refreshes
the shell and the page. Polling the indexed row every 250 ms is cheap and works across several
backend workers sharing one database (no pub/sub needed).
"""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.core.db import in_db
from clerk_portal.models import BillingAccount

POLL_SECONDS = 0.25


def touch(session: Session, *, workspace_id: int) -> None:
    """Raise the workspace's version in the caller's transaction (it commits with the change)."""
    session.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.workspace_id) == workspace_id)
        .values(mirror_version=BillingAccount.mirror_version + 1)
    )


async def mirror_version(workspace_id: int) -> int:
    """The workspace's mirror version (0 for an unknown workspace)."""
    return await in_db(
        lambda session: (
            session.exec(
                select(BillingAccount.mirror_version).where(
                    BillingAccount.workspace_id == workspace_id
                )
            ).first()
            or 0
        )
    )


# The page layer passes a plain timeout (a long-poll), hence the noqa.
async def wait_for_change(
    workspace_id: int,
    since: int,
    timeout: float = 25.0,  # noqa: ASYNC109
) -> int:
    """Return the version as soon as it differs from `since`, or after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        version = await mirror_version(workspace_id)
        if version != since or time.monotonic() >= deadline:
            return version
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
