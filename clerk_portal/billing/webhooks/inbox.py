"""Stripe webhooks: verify, store once, answer fast, apply to the mirror in one transaction.

`POST /stripe/webhook` (`webhook_routes()`, mounted by `api.py`):
1. A body over 1 MiB is refused with 413 before it is read whole: at once when Content-Length says
   so, else as soon as the stream passes the limit (chunked bodies, or a Content-Length that lies).
2. The raw body's `Stripe-Signature` is checked (HMAC with the endpoint secret; timestamps more
   than 300 s old or ahead are refused) → 400 with a short JSON reason, before any database work.
3. The event is stored in the inbox with INSERT ... ON CONFLICT DO NOTHING on its id: concurrent
   duplicates store one row. Client secrets are redacted first (`webhook_checks.storable`). The
   answer is 200 at once; a signed event that can never be applied (a field missing, a wrong type,
   an id of an unknown shape: `webhook_checks.unusable`) is stored dead and answered 400.
4. Processing runs in a background task of this process and, as a safety net, in a worker loop
   (`webhook_worker_forever`) that claims due rows (a lease in `locked_until`; PostgreSQL adds
   FOR UPDATE SKIP LOCKED). Failures record `attempts`, `last_error` and `next_attempt_at`
   (exponential backoff); after MAX_ATTEMPTS the event is dead (`dead_at`): kept, listed and
   replayed by `python -m clerk_portal webhooks`, never dropped.
5. Order matters for subscriptions, invoices and customers, so the object is read again from Stripe
   and that state is applied (an old event arriving late cannot move the mirror backwards). The
   mirror write, the activity entry and marking the event processed share one transaction, which
   only commits if the event was still unprocessed: each event is applied once.
6. After a subscription, invoice or invoice item event, Stripe's preview of the next invoice is
   mirrored again, once per burst of events (the overview's "Next invoice"); invoice items
   change nothing else. `drain()` waits for it too.
Unknown event types are stored, acknowledged and marked processed with no effect.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clerk_portal.billing import ledger, mirror, pricing
from clerk_portal.billing.errors import NotFoundAtStripe
from clerk_portal.billing.gateway import (
    BillingGateway,
    SignatureError,
    VerifiedEvent,
    gateway_or_default,
    verify_webhook,
)
from clerk_portal.billing.services.common import (
    refresh_upcoming_invoice,
    write_mirror,
)
from clerk_portal.billing.webhooks import checks as webhook_checks
from clerk_portal.core import routes
from clerk_portal.core.db import in_db
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount, Invoice, WebhookEvent, utcnow

log = logging.getLogger("clerk_portal.billing.webhooks.inbox")
LEASE_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600
# 2 s, 4 s, … 1 h, then hourly: an event still failing after about 5 hours of tries is dead.
MAX_ATTEMPTS = 16
MAX_BODY_BYTES = 1024 * 1024
CONCURRENCY = 4
UPCOMING_DELAY_SECONDS = 0.3

SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "customer.subscription.paused",
    "customer.subscription.resumed",
}
INVOICE_EVENTS = {
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "invoice.payment_action_required",
    "invoice.voided",
    "invoice.updated",
    "invoice.marked_uncollectible",
}
CUSTOMER_EVENTS = {
    "customer.created",
    "customer.updated",
    "payment_method.attached",
    "payment_method.detached",
    "payment_method.updated",
    "setup_intent.succeeded",
}
# Prorations pending for the next invoice: only its preview changes.
INVOICEITEM_EVENTS = {"invoiceitem.created", "invoiceitem.updated", "invoiceitem.deleted"}
HANDLED = SUBSCRIPTION_EVENTS | INVOICE_EVENTS | CUSTOMER_EVENTS | INVOICEITEM_EVENTS
CHANGE_THE_NEXT_INVOICE = SUBSCRIPTION_EVENTS | INVOICE_EVENTS | INVOICEITEM_EVENTS
# The events whose object is read again from Stripe by its id, and the prefix that id has.
REFETCHED_ID_PREFIX = {t: "sub_" for t in SUBSCRIPTION_EVENTS} | {t: "in_" for t in INVOICE_EVENTS}


class _AlreadyProcessed(Exception):
    """Another worker applied this event first: roll back ours."""


# --- the route --------------------------------------------------------------------------------


def webhook_routes() -> list[Route]:
    return [Route(routes.STRIPE_WEBHOOK, receive_webhook, methods=["POST"])]


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` (nothing more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def receive_webhook(request: Request) -> JSONResponse:
    payload = await read_body(request)
    if payload is None:
        log.warning("webhook refused: body over %s bytes", MAX_BODY_BYTES)
        return JSONResponse({"error": "payload too large", "limit_bytes": MAX_BODY_BYTES}, 413)
    try:
        event = verify_webhook(
            payload, request.headers.get("stripe-signature"), get_settings().webhook_secret
        )
    except SignatureError as error:
        return JSONResponse({"error": "invalid signature", "reason": str(error)}, 400)
    problem = webhook_checks.unusable(event.payload, REFETCHED_ID_PREFIX)
    row_id, inserted = await in_db(lambda session: store_event(session, event, dead=problem))
    if problem:
        log.warning("webhook event %r can never be applied: %s", event.id[:80], problem)
        body = {"error": "event cannot be applied", "reason": problem, "duplicate": not inserted}
        return JSONResponse(body, 400)
    if inserted:
        dispatch(row_id)
    return JSONResponse({"received": True, "duplicate": not inserted})


def store_event(
    session: Session, event: VerifiedEvent, *, dead: str | None = None
) -> tuple[int, bool]:
    """Insert the event once, its client secrets redacted; `dead` (a reason) stores it dead.
    Returns (row id, whether this call inserted it)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = WebhookEvent.__table__  # type: ignore[attr-defined]
    payload = webhook_checks.storable(event.payload)
    event_id = event.id
    if not webhook_checks.has_event_id(event.payload):  # the inbox still keeps it, once
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        event_id = f"invalid_{digest}"
    statement = (
        insert(table)
        .values(
            stripe_event_id=event_id,
            type=webhook_checks.stored_type(event.payload),
            payload=payload,
            event_created=webhook_checks.unix_time(event.payload.get("created")),
            **({"dead_at": utcnow(), "last_error": dead[:2000]} if dead else {}),
        )
        .on_conflict_do_nothing(index_elements=["stripe_event_id"])
        .returning(table.c.id)
    )
    row_id = session.execute(statement).scalar()
    if row_id is not None:
        return row_id, True
    existing = session.execute(
        sa.select(table.c.id).where(table.c.stripe_event_id == event_id)
    ).scalar_one()
    return existing, False


# --- background processing --------------------------------------------------------------------

_tasks: set[asyncio.Task[Any]] = set()
_semaphores: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


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
    payload = await in_db(lambda session: _claim(session, row_id, claimed))
    if payload is None:
        return False
    problem = webhook_checks.unusable(payload, REFETCHED_ID_PREFIX)
    if problem:  # stored before the checks existed: retrying cannot help
        await in_db(lambda session: _record_failure(session, row_id, problem, dead=True))
        return False
    try:
        await apply_event(row_id, payload, gateway_or_default(gateway))
    except _AlreadyProcessed:
        return False
    except Exception as error:  # noqa: BLE001 - recorded and retried, never lost
        log.warning("webhook event %s failed: %s", payload.get("id"), error)
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        await in_db(lambda session: _record_failure(session, row_id, message))
        return False
    return True


def _claim(session: Session, row_id: int, claimed: bool = False) -> dict[str, Any] | None:
    if claimed:
        return session.exec(select(WebhookEvent.payload).where(WebhookEvent.id == row_id)).one()
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
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.exec(select(WebhookEvent.payload).where(WebhookEvent.id == row_id)).one()


def _record_failure(session: Session, row_id: int, message: str, *, dead: bool = False) -> None:
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
        delay = min(MAX_BACKOFF_SECONDS, 2 ** min(row.attempts, 12))
        row.next_attempt_at = utcnow() + timedelta(seconds=delay)
    session.add(row)


def _mark_processed(session: Session, row_id: int, workspace_id: int | None) -> None:
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
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _AlreadyProcessed


# --- applying one event -----------------------------------------------------------------------


def _customer_of(event: dict[str, Any]) -> str | None:
    data = event.get("data") or {}
    obj = data.get("object") or {}
    if obj.get("object") == "customer":
        return obj.get("id")
    customer = obj.get("customer") or (data.get("previous_attributes") or {}).get("customer")
    return customer if isinstance(customer, str) else (customer or {}).get("id")


def _find_workspace(session: Session, event: dict[str, Any]) -> tuple[int | None, int]:
    """(workspace id, mirror version) for the event's customer.

    Only the customer decides: metadata is anyone's to write (a subscription of another
    customer saying `workspace_id=7` must never reach workspace 7).
    """
    customer_id = _customer_of(event)
    account = None
    if customer_id:
        account = session.exec(
            select(BillingAccount).where(BillingAccount.stripe_customer_id == customer_id)
        ).first()
    if account is None:
        return None, 0
    return account.workspace_id, account.mirror_version


async def apply_event(row_id: int, event: dict[str, Any], gateway: BillingGateway) -> None:
    event_type = str(event.get("type"))
    workspace_id, version = await in_db(lambda session: _find_workspace(session, event))
    if workspace_id is None or event_type not in HANDLED:
        await in_db(lambda session: _mark_processed(session, row_id, workspace_id))
        return
    if event_type in INVOICEITEM_EVENTS:
        await in_db(lambda session: _mark_processed(session, row_id, workspace_id))
        _refresh_upcoming_soon(workspace_id, gateway)
        return
    obj = (event.get("data") or {}).get("object") or {}
    fetch = _fetcher(event_type, obj, gateway)
    try:
        snapshot = await fetch()
    except NotFoundAtStripe:  # deleted since: nothing left to mirror
        await in_db(lambda session: _mark_processed(session, row_id, workspace_id))
        return
    created = int(event.get("created") or 0)

    def apply(session: Session, account: BillingAccount, snap: Any) -> None:
        _mark_processed(session, row_id, workspace_id)
        _apply(session, account, event_type, obj, snap)
        if created > (account.last_event_created or 0):
            account.last_event_created = created
            session.add(account)

    await write_mirror(
        workspace_id, seen_version=version, first=snapshot, refetch=fetch, apply=apply
    )
    if event_type in CHANGE_THE_NEXT_INVOICE:
        _refresh_upcoming_soon(workspace_id, gateway)


_upcoming_scheduled: set[tuple[asyncio.AbstractEventLoop, int]] = set()


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


def _fetcher(
    event_type: str, obj: dict[str, Any], gateway: BillingGateway
) -> Callable[[], Awaitable[Any]]:
    if event_type in SUBSCRIPTION_EVENTS:
        return lambda: gateway.retrieve_subscription(obj["id"])
    if event_type in INVOICE_EVENTS:
        return lambda: gateway.retrieve_invoice(obj["id"])
    customer_id = _customer_of({"data": {"object": obj}}) or ""

    async def customer_and_card() -> Any:
        customer = await gateway.retrieve_customer(customer_id)
        card = None
        if customer.default_payment_method:
            card = await gateway.retrieve_payment_method(customer.default_payment_method)
        return customer, card

    return customer_and_card


def _paid_before(session: Session, workspace_id: int, trial_end: int) -> bool:
    """A Stripe trial that follows a paid invoice only moves the billing cycle (a plan change
    waiting for the period end, see plan_change._switch): it is no trial to announce."""
    paid = select(Invoice.id).where(
        Invoice.workspace_id == workspace_id,
        Invoice.amount_paid_cents > 0,
        Invoice.created < mirror.from_unix(trial_end),
    )
    return session.exec(paid.limit(1)).first() is not None


def _apply(
    session: Session, account: BillingAccount, event_type: str, obj: dict[str, Any], snap: Any
) -> None:
    workspace_id = account.workspace_id
    if event_type in SUBSCRIPTION_EVENTS:
        # Only the workspace's own subscription makes history (an abandoned attempt does not).
        mine = mirror.applies_to(account, snap)
        mirror.apply_subscription(session, account, snap)
        trial_ends = event_type == "customer.subscription.trial_will_end" and snap.trial_end
        if trial_ends and not _paid_before(session, workspace_id, snap.trial_end):
            ends = mirror.from_unix(snap.trial_end)
            _activity(session, workspace_id, "trial_will_end", f"Trial ends on {ends:%b %d, %Y}")
        elif event_type == "customer.subscription.deleted" and mine:
            _activity(session, workspace_id, "canceled", "Subscription canceled")
    elif event_type in INVOICE_EVENTS:
        if snap.customer and snap.customer != account.stripe_customer_id:
            return
        mirror.apply_invoice(session, account, snap)
        label = f"Invoice {snap.number or snap.id}"
        if event_type == "invoice.paid":
            amount = pricing.format_cents(snap.amount_paid, snap.currency)
            _activity(session, workspace_id, "invoice_paid", f"{label} paid: {amount}", snap)
        elif event_type == "invoice.payment_failed":
            amount = pricing.format_cents(snap.amount_remaining, snap.currency)
            _activity(
                session,
                workspace_id,
                "payment_failed",
                f"{label}: payment of {amount} failed",
                snap,
            )
    else:
        customer, card = snap
        mirror.apply_customer(session, account, customer)
        if card is not None or customer.default_payment_method is None:
            mirror.apply_card(session, account, card)


def _activity(
    session: Session, workspace_id: int, kind: str, summary: str, invoice: Any = None
) -> None:
    ledger.record_activity(
        session,
        workspace_id=workspace_id,
        kind=kind,
        summary=summary,
        amount_cents=invoice.amount_paid or invoice.amount_due if invoice else None,
        details={"invoice": invoice.id} if invoice else None,
    )


# --- the worker loop ----------------------------------------------------------------------------


def _claim_due(session: Session, limit: int) -> list[int]:
    """Lease up to `limit` due rows (PostgreSQL: SKIP LOCKED, so workers never wait)."""
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


async def process_pending(*, limit: int = 100, gateway: BillingGateway | None = None) -> int:
    """Process due inbox rows (unprocessed, unleased, backoff over); returns how many applied."""
    ids = await in_db(lambda session: _claim_due(session, limit))
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
