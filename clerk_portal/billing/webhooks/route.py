"""`POST /stripe/webhook` (`webhook_routes()`, mounted by `web/api.py`): verify, store once, answer.

1. A body over 1 MiB is refused with 413 before it is read whole: at once when Content-Length says
   so, else as soon as the stream passes the limit (chunked bodies, or a Content-Length that lies).
2. The raw body's `Stripe-Signature` is checked (HMAC with the endpoint secret; timestamps more
   than 300 s old or ahead are refused) → 400 with a short JSON reason, before any database work.
   The check uses stripe-python, so it lives in the Stripe gateway (`verify_webhook`).
3. The event is stored in the inbox once (`inbox.store_event`: concurrent duplicates store one
   row), client secrets redacted, on threads of the route's own (`_STORE_THREADS`), so that an
   acknowledgement never queues behind the database work of processing; the events that arrive
   while a commit runs share the next one (group commit). The answer is 200 as soon
   as the row is committed: the route only wakes the worker (`worker.dispatch`), which applies
   the event later on a task of its own, and waits for neither it nor the live updates. A signed
   event that can never be applied (`checks.unusable`) is stored dead and answered 400.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clerk_portal.billing.gateway import SignatureError, VerifiedEvent, verify_webhook
from clerk_portal.billing.webhooks import checks, handlers, inbox
from clerk_portal.billing.webhooks.worker import dispatch
from clerk_portal.core import routes
from clerk_portal.core.db import session_scope
from clerk_portal.core.settings import get_settings

log = logging.getLogger("clerk_portal.billing.webhooks.route")
MAX_BODY_BYTES = 1024 * 1024
# Inserting into the inbox: its own threads, apart from the default pool that processing uses
# (one transaction at a time per event loop: see `_store`).
_STORE_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhook-inbox")

# The event types to enable on the portal's webhook endpoint at Stripe (`enabled_events`): each
# has a handler (tests/unit/billing/test_webhook_handlers.py holds the two lists together).
ENABLED_EVENTS = (
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.trial_will_end",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "invoice.created",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "invoice.payment_action_required",
    "invoice.voided",
    "invoice.updated",
    "invoice.marked_uncollectible",
    "invoice.overdue",  # an invoiced customer's invoice past its due date unpaid
    "invoice.upcoming",
    "invoiceitem.created",
    "invoiceitem.updated",
    "invoiceitem.deleted",
    "customer.created",
    "customer.updated",
    "payment_method.attached",
    "payment_method.detached",
    "payment_method.updated",
    "setup_intent.succeeded",
)


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
    problem = checks.unusable(event.payload, handlers.refetched_id_prefixes())
    row_id, inserted = await _store(event, problem)
    if problem:
        log.warning("webhook event %r can never be applied: %s", event.id[:80], problem)
        body = {"error": "event cannot be applied", "reason": problem, "duplicate": not inserted}
        return JSONResponse(body, 400)
    if inserted:
        dispatch(row_id)
    return JSONResponse({"received": True, "duplicate": not inserted})


async def _store(event: VerifiedEvent, dead: str | None) -> tuple[int, bool]:
    """Store the event; the requests that arrive while a commit runs are stored together in the
    next one (one commit, one fsync, for a burst's concurrent events: group commit)."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = _InboxWriter()
    return await writer.store(event, dead)


class _InboxWriter:
    """One event loop's inbox inserts: at most one transaction at a time, holding every event
    that waited for it (up to GROUP_COMMIT)."""

    def __init__(self) -> None:
        self.queue: list[tuple[VerifiedEvent, str | None, asyncio.Future[tuple[int, bool]]]] = []
        self.writing = False

    async def store(self, event: VerifiedEvent, dead: str | None) -> tuple[int, bool]:
        future: asyncio.Future[tuple[int, bool]] = asyncio.get_running_loop().create_future()
        self.queue.append((event, dead, future))
        if not self.writing:
            self.writing = True
            task = asyncio.get_running_loop().create_task(self._write())
            _writing.add(task)
            task.add_done_callback(_writing.discard)
        return await future

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.queue:
                group, self.queue = self.queue[:GROUP_COMMIT], self.queue[GROUP_COMMIT:]
                try:
                    stored = await loop.run_in_executor(_STORE_THREADS, _insert, group)
                except Exception:  # noqa: BLE001 - one bad row must not fail the others
                    for item in group:
                        await _write_alone(loop, item)
                    continue
                for (_event, _dead, future), result in zip(group, stored, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.writing = False


async def _write_alone(loop: asyncio.AbstractEventLoop, item: Any) -> None:
    future = item[2]
    try:
        [result] = await loop.run_in_executor(_STORE_THREADS, _insert, [item])
    except Exception as error:  # noqa: BLE001 - that request answers 500, Stripe retries
        if not future.done():
            future.set_exception(error)
        return
    if not future.done():
        future.set_result(result)


def _insert(group: list[Any]) -> list[tuple[int, bool]]:
    with session_scope() as session:
        return [inbox.store_event(session, event, dead=dead) for event, dead, _future in group]


GROUP_COMMIT = 64
_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _InboxWriter] = (
    weakref.WeakKeyDictionary()
)
_writing: set[asyncio.Task[None]] = set()
