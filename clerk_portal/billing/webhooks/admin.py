"""`python -m clerk_portal webhooks list | dead | replay (EVENT_ID… | --all)`: the inbox's
events not applied yet, and the dead letters applied again once what broke them is fixed."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlmodel import Session, col, select

from clerk_portal.billing.gateway import BillingGateway, StripeGateway
from clerk_portal.billing.webhooks import worker
from clerk_portal.core.db import in_db, session_scope
from clerk_portal.models import WebhookEvent


@dataclass(frozen=True)
class InboxEntry:
    """An event not applied yet: pending, failing (with its next attempt) or dead."""

    stripe_event_id: str
    type: str
    received_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    dead_at: datetime | None
    last_error: str | None

    @property
    def state(self) -> str:
        if self.dead_at is not None:
            return "dead"
        return "failing" if self.attempts else "pending"


def unapplied(session: Session, *, dead_only: bool = False) -> list[InboxEntry]:
    query = select(WebhookEvent).where(col(WebhookEvent.processed_at).is_(None))
    if dead_only:
        query = query.where(col(WebhookEvent.dead_at).is_not(None))
    rows = session.exec(query.order_by(col(WebhookEvent.received_at), col(WebhookEvent.id)))
    return [
        InboxEntry(
            row.stripe_event_id,
            row.type,
            row.received_at,
            row.attempts,
            row.next_attempt_at,
            row.dead_at,
            row.last_error,
        )
        for row in rows
    ]


def _revive(session: Session, event_ids: list[str] | None) -> dict[str, int | str]:
    """Make dead (or waiting) events due now, attempts from zero. `None`: every dead event.
    Returns, per event id, its row id or why it is not replayed."""
    query = select(WebhookEvent)
    if event_ids is None:
        query = query.where(
            col(WebhookEvent.dead_at).is_not(None), col(WebhookEvent.processed_at).is_(None)
        )
    else:
        query = query.where(col(WebhookEvent.stripe_event_id).in_(event_ids))
    rows = {row.stripe_event_id: row for row in session.exec(query.order_by(col(WebhookEvent.id)))}
    found: dict[str, int | str] = {}
    for event_id in rows if event_ids is None else event_ids:
        row = rows.get(event_id)
        if row is None:
            found[event_id] = "no such event in the inbox"
        elif row.processed_at is not None:
            found[event_id] = "already applied"
        else:
            row.dead_at = row.next_attempt_at = row.locked_until = None
            row.attempts = 0
            session.add(row)
            assert row.id is not None
            found[event_id] = row.id
    return found


def _outcome(session: Session, row_id: int) -> tuple[bool, str | None, bool]:
    row = session.get(WebhookEvent, row_id)
    if row is None:
        return True, None, False
    return row.processed_at is not None, row.last_error, row.dead_at is not None


async def replay(
    event_ids: list[str] | None, *, gateway: BillingGateway | None = None
) -> dict[str, str]:
    """Apply dead events again now (after a fix); `None` replays every dead one.
    Returns, per event id, "applied" or why not (a new failure is retried, then dead again)."""
    revived = await in_db(lambda session: _revive(session, event_ids))
    outcomes: dict[str, str] = {}
    for event_id, row_id in revived.items():
        if isinstance(row_id, str):
            outcomes[event_id] = row_id
            continue
        if await worker.process_event(row_id, gateway=gateway):
            outcomes[event_id] = "applied"
            continue
        processed, error, dead = await in_db(partial(_outcome, row_id=row_id))
        if processed:
            outcomes[event_id] = "applied"
        else:
            then = "dead again" if dead else "the worker retries it"
            outcomes[event_id] = f"failed ({then}): {error}"
    await worker.drain()
    return outcomes


# --- the command ---------------------------------------------------------------------------------


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}Z" if at else "-"


def show(*, dead_only: bool) -> int:
    """Print one line per event; `dead` exits 1 when there is any (something to look at)."""
    with session_scope() as session:
        entries = unapplied(session, dead_only=dead_only)
    for entry in entries:
        then = entry.dead_at if entry.state == "dead" else entry.next_attempt_at
        error = (entry.last_error or "").replace("\n", " ")[:160]
        print(
            f"{entry.stripe_event_id}\t{entry.type}\t{entry.state}\tattempts={entry.attempts}"
            f"\t{'dead since' if entry.state == 'dead' else 'next'} {_when(then)}\t{error}"
        )
    dead = sum(entry.state == "dead" for entry in entries)
    kind = "dead" if dead_only else "not applied"
    print(f"webhooks: {len(entries)} event(s) {kind}, {dead} dead")
    return 1 if dead_only and dead else 0


def run_replay(event_ids: list[str], *, replay_all: bool) -> int:
    """Exit 0 when every event named (or every dead one) is applied (now or before), else 1."""
    if bool(event_ids) == replay_all:
        print("webhooks replay: name EVENT_ID(s) or --all, not both", file=sys.stderr)
        return 2
    for noisy in ("stripe", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    async def main() -> dict[str, str]:
        async with StripeGateway.from_settings() as gateway:
            return await replay(None if replay_all else event_ids, gateway=gateway)

    outcomes = asyncio.run(main())
    for event_id, outcome in outcomes.items():
        print(f"{event_id}\t{outcome}")
    done = sum(outcome in ("applied", "already applied") for outcome in outcomes.values())
    print(f"webhooks replay: {done} of {len(outcomes)} applied")
    return 0 if done == len(outcomes) else 1
