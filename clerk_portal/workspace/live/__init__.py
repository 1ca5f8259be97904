"""Live updates: a per-workspace counter (`BillingAccount.mirror_version`) that every change raises,
published once when its transaction commits, and pushed to the open tabs of that workspace.

`touch` raises it inside the caller's transaction: mirror writes do (`billing.mirror.bump`), and
a team or numbers change does too, in the same transaction as the change. The session hooks
(`hooks`) publish each raised version once, on commit only, so no tab can see the new version
before the change is visible, nor hear of a change that rolled back.

Each backend worker holds one subscription (`notifiers`: Redis pub/sub when `REDIS_URL` is set,
PostgreSQL LISTEN/NOTIFY on PostgreSQL without Redis, in process otherwise) and wakes the waiting
tabs of the workspace (`waiters`). Each open tab has one watcher (the shell's,
`SessionState.watch_live`): it calls `wait_for_change(workspace_id, since)` in a loop, which
costs nothing until woken, reads the version once on a wake and nothing at a quiet timeout.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.core.db import get_engine, in_db
from clerk_portal.models import BillingAccount
from clerk_portal.workspace.live import hooks
from clerk_portal.workspace.live.notifiers import Notifier, channel_for
from clerk_portal.workspace.live.waiters import Superseded

__all__ = [
    "Superseded",
    "changed",
    "channel_for",
    "current_notifier",
    "mirror_version",
    "serving",
    "shared_read",
    "touch",
    "wait_for_change",
]

T = TypeVar("T")

WAIT_SECONDS = 45.0  # a quiet wait's default length (it ends without reading anything)


def touch(session: Session, *, workspace_id: int) -> None:
    """Raise the workspace's version in the caller's transaction (published when it commits)."""
    version = session.execute(
        sa.update(BillingAccount)
        .where(col(BillingAccount.workspace_id) == workspace_id)
        .values(mirror_version=BillingAccount.mirror_version + 1)
        .returning(col(BillingAccount.mirror_version))
    ).scalar()
    if version is not None:
        hooks.note(session, workspace_id, version)


def changed(session: Session, *, workspace_id: int, version: int | None = None) -> None:
    """The caller's own statement raised the version (to `version`, if known): publish it."""
    hooks.note(session, workspace_id, version)


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


def current_notifier() -> Notifier:
    """This process's notifier for the configured database."""
    return hooks.notifier_for(get_engine().url.render_as_string(hide_password=False))


# The page layer passes a plain timeout (a long-poll), hence the noqa.
async def wait_for_change(
    workspace_id: int,
    since: int,
    timeout: float = WAIT_SECONDS,  # noqa: ASYNC109
    *,
    tab: str | None = None,
    rank: int = 0,
) -> int:
    """Return the version once a change of the workspace is heard (read once), or `since` after
    `timeout` seconds. `tab`, `rank`: a tab's newer watcher (higher rank) ends the wait of an
    older one (`Superseded`), so a tab has one waiter however often its pages load."""
    notifier = current_notifier()
    notifier.ensure_listening()
    return await notifier.waiters.wait(
        workspace_id, since, timeout, mirror_version, tab=tab, rank=rank
    )


async def shared_read(
    workspace_id: int,
    version: int,
    key: Hashable,
    read: Callable[[], Awaitable[T]],
    *,
    while_running: bool = False,
) -> T:
    """For a woken tab that read `version`: `read()`, shared with this worker's other tabs of
    the workspace that read the same version and ask for the same `key` after the same change
    (`Waiters.shared`): one read per workspace per wake, not one per tab, and never older than
    the version the tab records. `while_running`: shared only while it runs (a session check)."""
    return await current_notifier().waiters.shared(
        workspace_id, version, key, read, while_running=while_running
    )


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[None]:
    """The app's lifespan: subscribe at start-up, close every subscription at shutdown."""
    current_notifier().ensure_listening()
    try:
        yield
    finally:
        for notifier in hooks.notifiers():
            await notifier.close()
