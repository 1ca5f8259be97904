"""Event types the handler registry does not know: stored once, acknowledged, marked processed for
the workspace they name, and nothing else happens (no read from Stripe, no mirror write)."""

from __future__ import annotations

import json
import time

import httpx
import sqlalchemy as sa
from sqlmodel import select

from clerk_portal.billing.services.upgrade import start_upgrade
from clerk_portal.billing.webhooks import handlers
from clerk_portal.core.db import session_scope
from clerk_portal.models import BillingAccount, BillingActivity, WebhookEvent

from .conftest import Env, make_workspace
from .test_webhooks import signed


def mirror_of(workspace_id: int) -> tuple[int, int | None, int]:
    with session_scope() as session:
        account = session.exec(
            select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
        ).one()
        activity = session.exec(
            select(sa.func.count())
            .select_from(BillingActivity)
            .where(BillingActivity.workspace_id == workspace_id)
        ).one()
        return account.mirror_version, account.last_event_created, activity


async def test_an_event_type_without_a_handler_is_stored_and_ignored(env: Env):
    workspace_id, _ = make_workspace()
    await start_upgrade(workspace_id=workspace_id, plan="business", interval="month")
    env.settle()
    with session_scope() as session:
        customer_id = session.exec(
            select(BillingAccount.stripe_customer_id).where(
                BillingAccount.workspace_id == workspace_id
            )
        ).one()
    assert customer_id and handlers.handler_for("charge.dispute.created") is None
    before = mirror_of(workspace_id)
    reads_before = len(env.sandbox.requests_log("/v1/"))
    body = json.dumps(
        {
            "id": "evt_no_handler_1",
            "object": "event",
            "type": "charge.dispute.created",
            "created": int(time.time()) + 60,
            "data": {"object": {"id": "dp_1", "object": "dispute", "customer": customer_id}},
        }
    ).encode()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            env.hooks.url, content=body, headers={"Stripe-Signature": signed(body)}
        )
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    env.hooks.drain()
    with session_scope() as session:
        row = session.exec(
            select(WebhookEvent).where(WebhookEvent.stripe_event_id == "evt_no_handler_1")
        ).one()
    assert row.type == "charge.dispute.created"
    assert row.processed_at is not None and row.attempts == 1
    assert (row.workspace_id, row.last_error, row.dead_at) == (workspace_id, None, None)
    assert mirror_of(workspace_id) == before  # same version, same last event, no activity
    assert len(env.sandbox.requests_log("/v1/")) == reads_before  # Stripe was not asked
