"""`reconcile` finds drift between the team, Stripe and the mirror, and fixes it once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import sqlalchemy as sa

from clerk_portal.billing.reconcile import reconcile
from clerk_portal.core.db import session_scope
from clerk_portal.core.settings import PROJECT_ROOT
from clerk_portal.models import Invoice, SubscriptionItem

from .conftest import Env, add_members
from .helpers import subscribe


def cli(env: Env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clerk_portal", "reconcile", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_injected_drift_is_reported_then_fixed_idempotently(env: Env):
    drifting, _, sub_id = await subscribe(env, plan="business", name="Drifting", members=1)
    await subscribe(env, plan="startup", name="Steady")  # a workspace without drift
    env.settle()
    assert await reconcile() == []

    env.sandbox.configure_webhooks(url="")  # drift that no webhook will repair
    sub = env.stripe().v1.subscriptions.retrieve(sub_id)
    seat_item = next(i for i in sub["items"].data if "seat" in i.price.lookup_key)
    env.stripe().v1.subscription_items.update(seat_item.id, {"quantity": 7})
    with session_scope() as session:
        session.execute(
            sa.update(Invoice).where(Invoice.workspace_id == drifting).values(status="open")
        )
        session.execute(
            sa.update(SubscriptionItem)
            .where(SubscriptionItem.workspace_id == drifting, SubscriptionItem.kind == "number")
            .values(quantity=5)
        )
    add_members(drifting, 2)  # without a sync

    found = await reconcile()
    kinds = sorted({d.kind for d in found})
    assert kinds == ["invoice", "quantities", "subscription"]
    assert {d.workspace_id for d in found} == {drifting}
    assert any(
        "team has 4 seats" in d.describe() and "Stripe bills 7" in d.describe() for d in found
    )

    result = await asyncio.to_thread(cli, env)
    assert result.returncode == 1, result.stderr
    assert "drift(s) found" in result.stdout

    fixed = await asyncio.to_thread(cli, env, "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert "[fixed]" in fixed.stdout
    assert await reconcile() == []
    again = await asyncio.to_thread(cli, env, "--fix")
    assert again.returncode == 0 and "no drift" in again.stdout
    quantity = env.stripe().v1.subscriptions.retrieve(sub_id)["items"].data
    assert {i.price.lookup_key: i.quantity for i in quantity}["business_seat_month"] == 4
