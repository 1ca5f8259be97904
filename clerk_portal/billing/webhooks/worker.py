"""Applying stored events: at once in a background task of this process (`dispatch`), and in a
worker loop as the safety net (`webhook_worker_forever`, a Reflex lifespan task) that claims due
rows of the inbox.

One event (`process_event`): claim it, look up its handler (`handlers`), read its object again
from Stripe, then write the mirror, the activity entry and "processed" in one transaction that
only commits if the event was still unprocessed, so each event is applied once. A failure is
recorded and retried (`inbox.record_failure`); a type without a handler, or an event for no
workspace of ours, is marked processed with no effect. After a subscription, invoice or invoice
item event, Stripe's preview of the next invoice is mirrored again, once per burst of events;
`drain()` waits for that too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlmodel import Session

from clerk_portal.billing.errors import NotFoundAtStripe
from clerk_portal.billing.gateway import BillingGateway, gateway_or_default
from clerk_portal.billing.services.common import refresh_upcoming_invoice, write_mirror
from clerk_portal.billing.webhooks import checks, handlers, inbox
from clerk_portal.core.db import in_db
from clerk_portal.models import BillingAccount

log = logging.getLogger("clerk_portal.billing.webhooks.worker")
CONCURRENCY = 4
UPCOMING_DELAY_SECONDS = 0.3

_tasks: set[asyncio.Task[Any]] = set()
_semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
_upcoming_scheduled: set[tuple[asyncio.AbstractEventLoop, int]] = set()


def dispatch(row_id: int, gateway: BillingGateway | None = None) -> None:
    """Process the row soon, in this process (the worker loop catches anything missed)."""
    task = asyncio.get_running_loop().create_task(_process_limited(row_id, gateway))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def drain() -> None:
    """Wait for this event loop's background processing (tests, shutdown)."""
    loop = asyncio.get_running_loop()
    while pending := [task for task in _tasks if not task.done() and task.get_loop() is loop]:
        await asyncio.gather(*pending, return_exceptions=True)


async def _process_limited(row_id: int, gateway: BillingGateway | None) -> None:
    loop = asyncio.get_running_loop()
    semaphore = _semaphores.setdefault(loop, asyncio.Semaphore(CONCURRENCY))
    async with semaphore:
        await process_event(row_id, gateway=gateway)


async def process_event(
    row_id: int, *, gateway: BillingGateway | None = None, claimed: bool = False
) -> bool:
    """Claim (unless `claimed`) and apply one stored event; returns whether this call applied it."""
    payload = await in_db(lambda session: inbox.claim(session, row_id, claimed))
    if payload is None:
        return False
    problem = checks.unusable(payload, handlers.refetched_id_prefixes())
    if problem:  # stored before the checks existed: retrying cannot help
        await in_db(lambda session: inbox.record_failure(session, row_id, problem, dead=True))
        return False
    try:
        await apply_event(row_id, payload, gateway_or_default(gateway))
    except inbox.AlreadyProcessed:
        return False
    except Exception as error:  # noqa: BLE001 - recorded and retried, never lost
        log.warning("webhook event %s failed: %s", payload.get("id"), error)
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        await in_db(lambda session: inbox.record_failure(session, row_id, message))
        return False
    return True


async def apply_event(row_id: int, event: dict[str, Any], gateway: BillingGateway) -> None:
    """Apply one claimed event with its type's handler; raises inbox.AlreadyProcessed when
    another worker applied it first (nothing of ours is committed then)."""
    handler = handlers.handler_for(str(event.get("type")))
    workspace_id, version = await in_db(lambda session: handlers.find_workspace(session, event))
    if workspace_id is None or handler is None:  # ignored
        await in_db(lambda session: inbox.mark_processed(session, row_id, workspace_id))
        return
    fetch, change = handler.fetch, handler.apply
    if fetch is None or change is None:
        await in_db(lambda session: inbox.mark_processed(session, row_id, workspace_id))
        _refresh_upcoming_soon(workspace_id, gateway)
        return
    obj = (event.get("data") or {}).get("object") or {}

    async def read() -> Any:
        return await fetch(obj, gateway)

    try:
        snapshot = await read()
    except NotFoundAtStripe:  # deleted since: nothing left to mirror
        await in_db(lambda session: inbox.mark_processed(session, row_id, workspace_id))
        return
    created = int(event.get("created") or 0)

    def apply(session: Session, account: BillingAccount, snap: Any) -> None:
        inbox.mark_processed(session, row_id, workspace_id)
        change(session, account, snap)
        if created > (account.last_event_created or 0):
            account.last_event_created = created
            session.add(account)

    await write_mirror(
        workspace_id, seen_version=version, first=snapshot, refetch=read, apply=apply
    )
    if handler.changes_next_invoice:
        _refresh_upcoming_soon(workspace_id, gateway)


def _refresh_upcoming_soon(workspace_id: int, gateway: BillingGateway) -> None:
    """One preview of the next invoice for a burst of events (a renewal sends a dozen), taken
    after them, off the event's own processing. A refresh already scheduled has not started
    yet, so it will read what this event committed."""
    key = (asyncio.get_running_loop(), workspace_id)
    if key in _upcoming_scheduled:
        return
    _upcoming_scheduled.add(key)

    async def later() -> None:
        await asyncio.sleep(UPCOMING_DELAY_SECONDS)
        _upcoming_scheduled.discard(key)
        try:
            await refresh_upcoming_invoice(workspace_id, gateway)
        except Exception:  # the next event refreshes it again
            log.exception("upcoming invoice of workspace %s not refreshed", workspace_id)

    task = asyncio.get_running_loop().create_task(later())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


# --- the safety net ---------------------------------------------------------------------------


async def process_pending(*, limit: int = 100, gateway: BillingGateway | None = None) -> int:
    """Process due inbox rows (unprocessed, unleased, backoff over); returns how many applied."""
    ids = await in_db(lambda session: inbox.claim_due(session, limit))
    applied = 0
    for row_id in ids:
        applied += await process_event(row_id, gateway=gateway, claimed=True)
    return applied


async def webhook_worker_forever(poll_seconds: float = 5.0) -> None:
    """The safety net for the in-process tasks: register as a Reflex lifespan task."""
    while True:
        try:
            await process_pending()
        except Exception:
            log.exception("webhook worker round failed")
        await asyncio.sleep(poll_seconds)
