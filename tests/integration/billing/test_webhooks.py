"""The webhook route: signatures, de-duplication, out-of-order replay, failures and retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections import Counter

import httpx
import sqlalchemy as sa
from sqlmodel import select

from clerk_portal.billing import webhooks
from clerk_portal.billing.read_models.history import activity_entries
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import quantities
from clerk_portal.core.db import session_scope
from clerk_portal.demo.clock import advance_demo_clock
from clerk_portal.models import (
    BillingAccount,
    BillingActivity,
    Invoice,
    SubscriptionItem,
    WebhookEvent,
)
from clerk_portal.pages.billing.history import _activity_row

from .conftest import WEBHOOK_SECRET, Env, add_members
from .helpers import PAST_THE_RENEWAL, subscribe


def signed(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    t = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event_body(event_id: str = "evt_test_1", type_: str = "invoice.paid") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "data": {"object": {"id": "in_x", "object": "invoice", "customer": "cus_nobody"}},
        }
    ).encode()


def inbox_count() -> int:
    with session_scope() as session:
        return session.exec(select(sa.func.count()).select_from(WebhookEvent)).one()


async def test_bad_signatures_are_refused_before_the_database(env: Env):
    env.settle()  # the catalog sync's events
    baseline = inbox_count()
    body = event_body()
    now = int(time.time())
    cases = {
        "missing": {},
        "forged": {"Stripe-Signature": signed(body, secret="whsec_someone_else")},
        "stale": {"Stripe-Signature": signed(body, at=now - 330)},
        "future": {"Stripe-Signature": signed(body, at=now + 330)},
        "garbage": {"Stripe-Signature": "t=abc,v1=zzz"},
        "tampered": {"Stripe-Signature": signed(body)},
    }
    async with httpx.AsyncClient() as client:
        for name, headers in cases.items():
            content = body.replace(b"invoice.paid", b"invoice.void") if name == "tampered" else body
            response = await client.post(env.hooks.url, content=content, headers=headers)
            assert response.status_code == 400, name
            assert response.json()["error"] == "invalid signature"
        assert inbox_count() == baseline
        ok = await client.post(
            env.hooks.url, content=body, headers={"Stripe-Signature": signed(body)}
        )
        assert ok.status_code == 200
    assert inbox_count() == baseline + 1


async def test_concurrent_duplicates_store_one_row_and_unknown_types_are_acknowledged(env: Env):
    body = event_body("evt_unknown_1", "radar.early_fraud_warning.created")
    async with httpx.AsyncClient() as client:
        responses = await asyncio.gather(
            *(
                client.post(env.hooks.url, content=body, headers={"Stripe-Signature": signed(body)})
                for _ in range(10)
            )
        )
    assert [r.status_code for r in responses] == [200] * 10
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    env.hooks.drain()
    with session_scope() as session:
        [row] = session.exec(
            select(WebhookEvent).where(WebhookEvent.stripe_event_id == "evt_unknown_1")
        ).all()
        assert row.type == "radar.early_fraud_warning.created"
        assert row.processed_at is not None and row.attempts == 1


async def subscribed(env: Env, **kwargs) -> tuple[int, str]:
    workspace_id, _owner_id, subscription_id = await subscribe(env, **kwargs)
    return workspace_id, subscription_id


async def test_a_failed_processing_is_recorded_and_retried(env: Env):
    workspace_id, sub_id = await subscribed(env)
    env.settle()
    env.sandbox.configure_webhooks(url="")
    add_members(workspace_id, 1)
    # the update emits customer.subscription.updated; then reading it back fails 3 times
    await quantities.sync_quantities(workspace_id=workspace_id)
    env.sandbox.add_fault("GET", f"/v1/subscriptions/{sub_id}", status=500, count=3)
    event = env.raw_events(type="customer.subscription.updated")[0]
    body = json.dumps(event).encode()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            env.hooks.url, content=body, headers={"Stripe-Signature": signed(body)}
        )
    assert response.status_code == 200
    env.hooks.drain()
    with session_scope() as session:
        row = session.exec(
            select(WebhookEvent).where(WebhookEvent.stripe_event_id == event["id"])
        ).one()
        assert row.processed_at is None and row.attempts == 1
        assert "Stripe is not answering" in (row.last_error or "")
        assert row.next_attempt_at is not None
        row.next_attempt_at = None  # the backoff is over
        session.add(row)
    assert await webhooks.process_pending() == 1
    with session_scope() as session:
        row = session.exec(
            select(WebhookEvent).where(WebhookEvent.stripe_event_id == event["id"])
        ).one()
        assert row.processed_at is not None and row.attempts == 2 and row.last_error is None


async def test_500_events_replayed_with_duplicates_in_any_order_converge_to_stripe(env: Env):
    workspaces = [await subscribed(env, name=f"W{i}", numbers=2) for i in range(2)]
    for round_ in range(20):  # a month of team changes and a renewal, until 400 events exist
        for workspace_id, _ in workspaces:
            add_members(workspace_id, 1, prefix=f"r{round_}-")
            await quantities.sync_quantities(workspace_id=workspace_id)
            await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
        if len(env.raw_events()) >= 400:
            break
    env.settle(timeout=180)  # 400+ deliveries: a limit, not a wait (seconds alone, minutes loaded)
    unique = env.raw_events()
    assert len(unique) >= 400
    # every event once, plus duplicates making up 20 % of the replay (≥ 500 deliveries)
    replay = unique + random.Random(7).choices(unique, k=len(unique) // 4)
    random.Random(11).shuffle(replay)

    env.sandbox.configure_webhooks(url="")
    with session_scope() as session:  # forget everything the live deliveries did
        session.execute(sa.delete(WebhookEvent))
        session.execute(sa.delete(Invoice))
        session.execute(sa.delete(BillingActivity))
        session.execute(sa.update(SubscriptionItem).values(quantity=0))
        session.execute(
            sa.update(BillingAccount).values(status="incomplete", current_period_end=None)
        )

    semaphore = asyncio.Semaphore(8)
    async with httpx.AsyncClient(timeout=30) as client:

        async def post(event: dict) -> int:
            body = json.dumps(event).encode()
            async with semaphore:
                response = await client.post(
                    env.hooks.url, content=body, headers={"Stripe-Signature": signed(body)}
                )
            return response.status_code

        statuses = await asyncio.gather(*(post(event) for event in replay))
    assert set(statuses) == {200}
    env.hooks.drain()

    with session_scope() as session:
        rows = session.exec(select(WebhookEvent)).all()
        assert len(rows) == len(unique)
        assert all(row.processed_at is not None and row.attempts == 1 for row in rows)
        paid = Counter(
            a.details["invoice"]
            for a in session.exec(
                select(BillingActivity).where(BillingActivity.kind == "invoice_paid")
            )
        )
    replayed_paid = Counter(
        e["data"]["object"]["id"] for e in unique if e["type"] == "invoice.paid"
    )
    assert paid == replayed_paid  # each invoice.paid event applied exactly once

    client = env.stripe()
    for workspace_id, sub_id in workspaces:
        overview = await load_overview(workspace_id)
        sub = client.v1.subscriptions.retrieve(sub_id)
        assert overview.status == sub.status
        quantities_at_stripe = {
            item.price.lookup_key.split("_")[1]: item.quantity for item in sub["items"].data
        }
        assert (overview.seats_billed, overview.extra_numbers_billed) == (
            quantities_at_stripe["seat"],
            quantities_at_stripe["number"],
        )
        assert int(overview.next_invoice_at.timestamp()) == sub["items"].data[0].current_period_end
        with session_scope() as session:
            account = session.exec(
                select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
            ).one()
            mirrored = {
                i.stripe_invoice_id: (i.status, i.total_cents)
                for i in session.exec(select(Invoice).where(Invoice.workspace_id == workspace_id))
            }
        at_stripe = {
            i.id: (i.status, i.total)
            for i in client.v1.invoices.list(
                {"customer": account.stripe_customer_id, "limit": 100}
            ).data
        }
        assert mirrored == at_stripe


async def test_a_paid_invoice_is_one_activity_entry_that_says_its_amount_once(env: Env):
    """The history's entry shows the amount in its own badge: the summary said it again
    ("Invoice CLK-0001 paid: $49.00 · $49.00" on a phone, seen in issue 16)."""
    workspace_id, _, _ = await subscribe(env)
    env.settle()
    with session_scope() as session:
        paid = session.exec(
            select(BillingActivity).where(
                BillingActivity.workspace_id == workspace_id,
                BillingActivity.kind == "invoice_paid",
            )
        ).all()
    assert len(paid) == 1 and paid[0].amount_cents
    with session_scope() as session:
        entry = next(
            e
            for e in activity_entries(session, workspace_id=workspace_id).items
            if e.kind == "invoice_paid"
        )
    row = _activity_row(entry, "UTC")
    shown = f"{row['what']} {row['amount']}"
    assert row["amount"].startswith("$") and shown.count(row["amount"]) == 1, shown
    assert row["what"].endswith(" paid"), row["what"]
