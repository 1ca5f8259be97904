"""The inbox table's rules: each event stored once, claimed under a lease, then marked processed,
or failed (retried after an exponential backoff) and, after MAX_ATTEMPTS, dead.

Plain functions over a `Session`: the caller (the route, the worker, the CLI) owns the
transaction. PostgreSQL claims due rows with FOR UPDATE SKIP LOCKED, so workers never wait.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from clerk_portal.billing.gateway import VerifiedEvent
from clerk_portal.billing.webhooks import checks
from clerk_portal.models import WebhookEvent, utcnow

log = logging.getLogger("clerk_portal.billing.webhooks.inbox")
LEASE_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600
# 2 s, 4 s, … 1 h, then hourly: an event still failing after about 5 hours of tries is dead.
MAX_ATTEMPTS = 16


class AlreadyProcessed(Exception):
    """Another worker applied this event first: roll back ours."""


def store_event(
    session: Session, event: VerifiedEvent, *, dead: str | None = None
) -> tuple[int, bool]:
    """Insert the event once, its client secrets redacted; `dead` (a reason) stores it dead.
    Returns (row id, whether this call inserted it)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = WebhookEvent.__table__  # type: ignore[attr-defined]  # SQLModel does not declare it
    payload = checks.storable(event.payload)
    event_id = event.id
    if not checks.has_event_id(event.payload):  # the inbox still keeps it, once
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        event_id = f"invalid_{digest}"
    statement = (
        insert(table)
        .values(
            stripe_event_id=event_id,
            type=checks.stored_type(event.payload),
            payload=payload,
            event_created=checks.unix_time(event.payload.get("created")),
            **({"dead_at": utcnow(), "last_error": dead[:2000]} if dead else {}),
        )
        .on_conflict_do_nothing(index_elements=["stripe_event_id"])
        .returning(table.c.id)
    )
    row_id: int | None = session.execute(statement).scalar()
    if row_id is not None:
        return row_id, True
    existing: int = session.execute(
        sa.select(table.c.id).where(table.c.stripe_event_id == event_id)
    ).scalar_one()
    return existing, False


def claim(session: Session, row_id: int, claimed: bool = False) -> dict[str, Any] | None:
    """The payload of a row this call now holds the lease on (`claimed`: the caller already
    holds it), or None when it is processed, dead or leased by another worker."""
    if claimed:
        return _payload(session, row_id)
    now = utcnow()
    result = session.execute(
        sa.update(WebhookEvent)
        .where(
            col(WebhookEvent.id) == row_id,
            col(WebhookEvent.processed_at).is_(None),
            col(WebhookEvent.dead_at).is_(None),
            sa.or_(col(WebhookEvent.locked_until).is_(None), col(WebhookEvent.locked_until) < now),
        )
        .values(locked_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    # sqlmodel's Session.execute() returns Result in its types; an UPDATE's is a CursorResult.
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return _payload(session, row_id)


def _payload(session: Session, row_id: int) -> dict[str, Any]:
    payload = session.exec(select(WebhookEvent.payload).where(WebhookEvent.id == row_id)).one()
    return dict(payload)  # the column's JSON object (sqlmodel types it as a Mapping)


def claim_due(session: Session, limit: int) -> list[int]:
    """Lease up to `limit` due rows (unprocessed, not dead, unleased, backoff over), oldest
    first."""
    now = utcnow()
    query = (
        select(WebhookEvent.id)
        .where(
            col(WebhookEvent.processed_at).is_(None),
            col(WebhookEvent.dead_at).is_(None),
            sa.or_(col(WebhookEvent.locked_until).is_(None), col(WebhookEvent.locked_until) < now),
            sa.or_(
                col(WebhookEvent.next_attempt_at).is_(None),
                col(WebhookEvent.next_attempt_at) <= now,
            ),
        )
        .order_by(col(WebhookEvent.received_at), col(WebhookEvent.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row_id for row_id in session.exec(query) if row_id is not None]
    if ids:
        session.execute(
            sa.update(WebhookEvent)
            .where(col(WebhookEvent.id).in_(ids), col(WebhookEvent.processed_at).is_(None))
            .values(locked_until=now + timedelta(seconds=LEASE_SECONDS))
        )
    return ids


def backoff_seconds(attempts: int) -> int:
    """The wait before the next try after `attempts` failures: 2 s, 4 s, … capped at an hour."""
    doubled: int = 2 ** min(attempts, 12)  # typeshed: int ** int may be a float
    return min(MAX_BACKOFF_SECONDS, doubled)


def record_failure(session: Session, row_id: int, message: str, *, dead: bool = False) -> None:
    """One more failed attempt: retried after a backoff, or dead (`dead`, or MAX_ATTEMPTS)."""
    row = session.get(WebhookEvent, row_id)
    if row is None or row.processed_at is not None:
        return
    row.attempts += 1
    row.last_error = message[:2000]
    row.locked_until = None
    if dead or row.attempts >= MAX_ATTEMPTS:
        row.dead_at = utcnow()
        row.next_attempt_at = None
        log.error("webhook event %s is dead after %s attempt(s)", row.stripe_event_id, row.attempts)
    else:
        row.next_attempt_at = utcnow() + timedelta(seconds=backoff_seconds(row.attempts))
    session.add(row)


def mark_processed(session: Session, row_id: int, workspace_id: int | None) -> None:
    """Processed now, once: raises AlreadyProcessed when another worker marked it first."""
    result = session.execute(
        sa.update(WebhookEvent)
        .where(col(WebhookEvent.id) == row_id, col(WebhookEvent.processed_at).is_(None))
        .values(
            processed_at=utcnow(),
            attempts=WebhookEvent.attempts + 1,
            locked_until=None,
            next_attempt_at=None,
            last_error=None,
            workspace_id=workspace_id,
        )
    )
    # sqlmodel's Session.execute() returns Result in its types; an UPDATE's is a CursorResult.
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyProcessed


def payloads(session: Session, row_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored payloads of these rows, by row id."""
    if not row_ids:
        return {}
    rows = session.exec(
        select(WebhookEvent.id, WebhookEvent.payload).where(col(WebhookEvent.id).in_(row_ids))
    ).all()
    return {row_id: dict(payload) for row_id, payload in rows if row_id is not None}


def mark_all_processed(session: Session, row_ids: list[int], workspace_id: int | None) -> None:
    """`mark_processed` for several rows at once: raises AlreadyProcessed (and the caller rolls
    back) when another worker marked any of them first."""
    if not row_ids:
        return
    result = session.execute(
        sa.update(WebhookEvent)
        .where(col(WebhookEvent.id).in_(row_ids), col(WebhookEvent.processed_at).is_(None))
        .values(
            processed_at=utcnow(),
            attempts=WebhookEvent.attempts + 1,
            locked_until=None,
            next_attempt_at=None,
            last_error=None,
            workspace_id=workspace_id,
        )
    )
    if result.rowcount != len(set(row_ids)):  # type: ignore[attr-defined]
        raise AlreadyProcessed


def release(session: Session, row_ids: list[int]) -> None:
    """Give up the lease on rows this worker will not finish (shutdown): due again at once."""
    if row_ids:
        session.execute(
            sa.update(WebhookEvent)
            .where(col(WebhookEvent.id).in_(row_ids), col(WebhookEvent.processed_at).is_(None))
            .values(locked_until=None)
        )


def count_processed(session: Session, row_ids: list[int]) -> int:
    if not row_ids:
        return 0
    return session.exec(
        select(sa.func.count())
        .select_from(WebhookEvent)
        .where(col(WebhookEvent.id).in_(row_ids), col(WebhookEvent.processed_at).is_not(None))
    ).one()
