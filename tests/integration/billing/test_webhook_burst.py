"""Webhooks under a burst: the ack never waits for processing, one read of an object serves all
of a burst's events of it, they are applied in Stripe's order and once, and a worker stopped
mid-round leaves its events pending for the next one.

A handler registered for the test (`test.blocked`) holds its workspace's round until the test
lets it go: what arrives meanwhile for that workspace waits for its next round, as a burst does
while the previous round reads from Stripe.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from starlette.applications import Starlette

from clerk_portal.billing import webhooks
from clerk_portal.billing.webhooks import handlers
from clerk_portal.core.db import session_scope
from clerk_portal.models import BillingAccount, BillingActivity, Invoice, WebhookEvent
from tests.support.waiting import eventually, eventually_async

from .conftest import Env
from .helpers import subscribe
from .test_webhooks import signed


@dataclass
class Blocker:
    gate: threading.Event
    started: threading.Event


@pytest.fixture
def blocker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Blocker]:
    """`test.blocked` events: their read waits until `gate` is set (at the latest, the end)."""
    found = Blocker(threading.Event(), threading.Event())
    monkeypatch.setattr(handlers, "HANDLERS", dict(handlers.HANDLERS))

    async def wait_for_the_gate(obj: dict[str, Any], _gateway: Any) -> dict[str, Any]:
        found.started.set()
        await asyncio.to_thread(found.gate.wait, 120)
        return obj

    def nothing(*_args: Any) -> None:
        pass

    handlers.handles("test.blocked", fetch=wait_for_the_gate)(nothing)
    yield found
    found.gate.set()


def event(event_id: str, type_: str, obj: dict[str, Any], *, created: int | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type_,
            "created": created or int(time.time()),
            "data": {"object": obj},
        }
    ).encode()


def blocked(customer_id: str, n: int = 1) -> bytes:
    return event(f"evt_blocked_{n}", "test.blocked", {"id": f"blk_{n}", "customer": customer_id})


async def post(client: httpx.AsyncClient, url: str, body: bytes) -> httpx.Response:
    response = await client.post(url, content=body, headers={"Stripe-Signature": signed(body)})
    assert response.status_code == 200, response.text
    return response


def ids_of(workspace_id: int) -> tuple[str, str]:
    """(customer id, latest invoice id) of the workspace."""
    with session_scope() as session:
        customer = session.exec(
            select(BillingAccount.stripe_customer_id).where(
                BillingAccount.workspace_id == workspace_id
            )
        ).one()
        invoice = session.exec(
            select(Invoice.stripe_invoice_id)
            .where(Invoice.workspace_id == workspace_id)
            .order_by(col(Invoice.id).desc())
        ).first()
    assert customer and invoice
    return customer, invoice


def rows(*event_ids: str) -> dict[str, WebhookEvent]:
    with session_scope() as session:
        found = session.exec(
            select(WebhookEvent).where(col(WebhookEvent.stripe_event_id).in_(event_ids))
        ).all()
    return {row.stripe_event_id: row for row in found}


def wait_until_claimed(*event_ids: str) -> None:
    """Until the worker holds these rows (their lease taken: they are in its next round), or
    has applied them already."""

    def held() -> bool:
        found = rows(*event_ids)
        return len(found) == len(event_ids) and all(
            r.locked_until or r.processed_at for r in found.values()
        )

    eventually(held, within=30, what=f"the worker to claim {event_ids}")


def activities(workspace_id: int, *kinds: str) -> list[BillingActivity]:
    with session_scope() as session:
        return list(
            session.exec(
                select(BillingActivity)
                .where(
                    BillingActivity.workspace_id == workspace_id,
                    col(BillingActivity.kind).in_(kinds),
                )
                .order_by(col(BillingActivity.id))
            ).all()
        )


async def quiet_workspaces(env: Env, count: int) -> list[tuple[int, str, str]]:
    """Subscribed workspaces whose events were all applied, with deliveries then switched off;
    returns (workspace id, customer id, invoice id) of each."""
    made = [(await subscribe(env, name=f"Burst {n}"))[0] for n in range(count)]
    env.settle()
    env.sandbox.configure_webhooks(url="")
    return [(workspace_id, *ids_of(workspace_id)) for workspace_id in made]


async def quiet_workspace(env: Env) -> tuple[int, str, str]:
    return (await quiet_workspaces(env, 1))[0]


async def test_the_ack_comes_while_the_event_is_still_being_processed(env: Env, blocker: Blocker):
    _workspace_id, customer_id, _invoice = await quiet_workspace(env)
    async with httpx.AsyncClient(timeout=10) as client:  # a route waiting for the gate: 120 s
        response = await post(client, env.hooks.url, blocked(customer_id))
    assert response.json() == {"received": True, "duplicate": False}
    eventually(blocker.started.is_set, within=30, what="the handler to start")
    assert rows("evt_blocked_1")["evt_blocked_1"].processed_at is None  # still being processed
    blocker.gate.set()
    env.hooks.drain()
    assert rows("evt_blocked_1")["evt_blocked_1"].processed_at is not None


async def test_a_burst_of_one_invoices_events_reads_it_from_stripe_once(env: Env, blocker: Blocker):
    _workspace_id, customer_id, invoice_id = await quiet_workspace(env)
    invoice_events = [
        e
        for e in env.raw_events()
        if e["type"].startswith("invoice.") and e["data"]["object"]["id"] == invoice_id
    ]
    assert len(invoice_events) >= 4  # created, finalized, paid, payment_succeeded
    env.sandbox.control("DELETE", "requests")
    async with httpx.AsyncClient(timeout=10) as client:
        await post(client, env.hooks.url, blocked(customer_id))  # the round before the burst
        eventually(blocker.started.is_set, within=30, what="the handler to start")
        for n, raw in enumerate(invoice_events):
            await post(client, env.hooks.url, json.dumps({**raw, "id": f"evt_again_{n}"}).encode())
    wait_until_claimed(*(f"evt_again_{n}" for n in range(len(invoice_events))))
    blocker.gate.set()
    env.hooks.drain()
    burst = rows(*(f"evt_again_{n}" for n in range(len(invoice_events))))
    assert len(burst) == len(invoice_events)
    assert all(row.processed_at is not None and row.attempts == 1 for row in burst.values())
    reads = [
        entry
        for entry in env.sandbox.requests_log(f"/v1/invoices/{invoice_id}")
        if entry["method"] == "GET"
    ]
    assert len(reads) == 1, f"{len(invoice_events)} events, {len(reads)} reads of the invoice"


async def test_one_objects_events_are_applied_in_stripes_order(env: Env, blocker: Blocker):
    workspace_id, customer_id, invoice_id = await quiet_workspace(env)
    before = {a.id for a in activities(workspace_id, "invoice_paid", "payment_failed")}
    invoice = {"id": invoice_id, "object": "invoice", "customer": customer_id}
    now = int(time.time())
    async with httpx.AsyncClient(timeout=10) as client:
        await post(client, env.hooks.url, blocked(customer_id))
        eventually(blocker.started.is_set, within=30, what="the handler to start")
        # delivered out of order: the later event first
        await post(client, env.hooks.url, event("evt_late", "invoice.paid", invoice, created=now))
        failed = event("evt_early", "invoice.payment_failed", invoice, created=now - 30)
        await post(client, env.hooks.url, failed)
    wait_until_claimed("evt_late", "evt_early")
    blocker.gate.set()
    env.hooks.drain()
    applied = [
        a.kind
        for a in activities(workspace_id, "invoice_paid", "payment_failed")
        if a.id not in before
    ]
    assert applied == ["payment_failed", "invoice_paid"]


async def test_duplicates_in_a_burst_are_stored_and_applied_once(env: Env, blocker: Blocker):
    workspace_id, customer_id, invoice_id = await quiet_workspace(env)
    paid_before = len(activities(workspace_id, "invoice_paid"))
    invoice = {"id": invoice_id, "object": "invoice", "customer": customer_id}
    body = event("evt_twice", "invoice.paid", invoice)
    async with httpx.AsyncClient(timeout=10) as client:
        await post(client, env.hooks.url, blocked(customer_id))
        eventually(blocker.started.is_set, within=30, what="the handler to start")
        answers = await asyncio.gather(*(post(client, env.hooks.url, body) for _ in range(6)))
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 5
    wait_until_claimed("evt_twice")
    blocker.gate.set()
    env.hooks.drain()
    [row] = rows("evt_twice").values()
    assert row.processed_at is not None and row.attempts == 1
    assert len(activities(workspace_id, "invoice_paid")) == paid_before + 1


async def test_a_worker_stopped_mid_round_leaves_its_events_pending_and_the_next_applies_them_once(
    env: Env, blocker: Blocker
):
    [
        (first, first_customer, first_invoice),
        (second, second_customer, second_invoice),
    ] = await quiet_workspaces(env, 2)
    paid_before = {w: len(activities(w, "invoice_paid")) for w in (first, second)}

    def paid(event_id: str, invoice_id: str, customer_id: str) -> bytes:
        obj = {"id": invoice_id, "object": "invoice", "customer": customer_id}
        return event(event_id, "invoice.paid", obj)

    # The route and its worker in this test's event loop, so that the test can stop the worker.
    transport = httpx.ASGITransport(app=Starlette(routes=webhooks.webhook_routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
        url = "/stripe/webhook"
        await post(client, url, paid("evt_first_paid", first_invoice, first_customer))
        await post(client, url, blocked(second_customer))
        await post(client, url, paid("evt_second_paid", second_invoice, second_customer))
        await eventually_async(
            lambda: rows("evt_first_paid")["evt_first_paid"].processed_at is not None,
            within=30,
            what="the first workspace's round to commit",
        )
        eventually(blocker.started.is_set, within=30, what="the second workspace's round")
        await webhooks.stop()  # mid-round: the second workspace's read has not answered

        pending = rows("evt_blocked_1", "evt_second_paid")
        assert [row.processed_at for row in pending.values()] == [None, None]
        assert [row.locked_until for row in pending.values()] == [None, None]  # given back
        blocker.gate.set()

        webhooks.dispatch()  # a new worker
        await webhooks.drain()
        await webhooks.stop()
    done = rows("evt_first_paid", "evt_blocked_1", "evt_second_paid")
    assert all(row.processed_at is not None and row.attempts == 1 for row in done.values())
    assert {w: len(activities(w, "invoice_paid")) for w in (first, second)} == {
        first: paid_before[first] + 1,
        second: paid_before[second] + 1,
    }
