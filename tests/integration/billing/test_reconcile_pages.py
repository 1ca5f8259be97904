"""The reconcile job works a page at a time, paced under Stripe's rate limit; quantity updates
keep to their hourly budget (deferred to the job, never dropped)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from clerk_portal.billing import pacing
from clerk_portal.billing import reconcile as reconcile_module
from clerk_portal.billing.reconcile import reconcile, reconcile_page
from clerk_portal.billing.services import quantities
from clerk_portal.billing.services.common import load_account
from clerk_portal.billing.services.customer import ensure_customer
from clerk_portal.core.db import in_db, session_scope
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount, BillingActivity, utcnow
from clerk_portal.workspace import repository

from .conftest import Env, add_members, make_workspace
from .helpers import subscribe

STRIPE_TEST_MODE_LIMIT = 25  # requests a second


async def customers(env: Env, count: int) -> list[int]:
    """`count` workspaces with a Stripe customer (no subscription): two reads each to check.

    Returns once the sign-ups' webhooks have landed: one landing later bumps its workspace's
    mirror version and makes it due again, which a test of what each run takes would see."""
    ids = []
    async with env.gateway() as gateway:
        for i in range(count):
            workspace_id, _ = make_workspace(name=f"Workspace {i}")
            await ensure_customer(await load_account(workspace_id), gateway)
            ids.append(workspace_id)
    env.settle()
    return ids


def customers_read(env: Env) -> set[str]:
    """The customers whose subscriptions were listed since the log was cleared."""
    return {
        parse_qs(entry["query"]).get("customer", ["?"])[0]
        for entry in env.sandbox.requests_log("/v1/subscriptions")
        if entry["method"] == "GET"
    }


def customer_of(workspace_id: int) -> str:
    with session_scope() as session:
        account = session.exec(
            sa.select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
        ).scalar_one()
        return account.stripe_customer_id


async def test_each_run_takes_one_page_then_the_rest_then_only_what_changed(env: Env):
    ids = await customers(env, 5)

    env.sandbox.control("DELETE", "requests")
    first = await reconcile_page(page_size=2)
    assert first.checked == ids[:2] and first.drifts == []
    assert customers_read(env) == {customer_of(i) for i in ids[:2]}  # Stripe: the page only
    assert (await reconcile_page(page_size=2)).checked == ids[2:4]
    assert (await reconcile_page(page_size=2)).checked == ids[4:]
    env.sandbox.control("DELETE", "requests")
    assert (await reconcile_page(page_size=2)).checked == []  # nothing changed, nothing unseen
    assert customers_read(env) == set()

    with session_scope() as session:  # a mirror write (what a webhook or a sync does)
        session.execute(
            sa.update(BillingAccount)
            .where(BillingAccount.workspace_id == ids[3])
            .values(mirror_version=BillingAccount.mirror_version + 1)
        )
        session.execute(  # and one not seen for seven hours
            sa.update(BillingAccount)
            .where(BillingAccount.workspace_id == ids[1])
            .values(reconciled_at=utcnow() - timedelta(hours=7))
        )
    again = await reconcile_page(page_size=2)
    assert again.checked == [ids[1], ids[3]]  # the unseen one first (oldest check)
    assert (await reconcile_page(page_size=2)).checked == []


async def test_an_account_that_cannot_be_checked_stays_due_behind_the_others(
    env: Env, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(reconcile_module, "CONCURRENCY", 1)  # the faults meet one workspace
    ids = await customers(env, 3)
    # The first list of invoices fails (with the SDK's retries): workspace ids[0].
    env.sandbox.add_fault("GET", "/v1/invoices", status=500, count=3)
    first = await reconcile_page(page_size=3)
    assert first.checked == ids
    assert [(d.workspace_id, d.kind) for d in first.drifts] == [(ids[0], "error")]
    assert (await reconcile_page(page_size=3)).checked == [ids[0]]  # retried next time
    assert (await reconcile_page(page_size=3)).checked == []


def busiest_second(times: list[float]) -> int:
    """The most requests in any one-second window."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def measured(entries: list[dict]) -> tuple[float, int]:
    """(requests a second over the whole run, the most requests in any one second)."""
    times = [entry["time"] for entry in entries]
    return (len(times) - 1) / (max(times) - min(times)), busiest_second(times)


async def test_reconcile_keeps_under_80_percent_of_the_rate_limit(env: Env):
    await customers(env, 16)  # 32 reads: more than a second's worth at full speed
    env.sandbox.control("DELETE", "requests")
    assert await reconcile() == []
    log = env.sandbox.requests_log("/v1/")
    assert len(log) == 32, [(e["method"], e["path"]) for e in log]
    rate, busiest = measured(log)
    print(f"reconcile: {len(log)} Stripe requests, {rate:.1f}/s, busiest second {busiest}")
    # Paced at 80 % of the test mode's 25 a second: one request every 50 ms (arrivals at the
    # sandbox jitter by a few ms, so the busiest second may hold one more).
    assert rate <= 0.8 * STRIPE_TEST_MODE_LIMIT * 1.02
    assert busiest < STRIPE_TEST_MODE_LIMIT


async def test_concurrent_callers_share_one_pace(env: Env):
    ids = await customers(env, 1)
    env.sandbox.control("DELETE", "requests")
    customer = customer_of(ids[0])
    async with env.gateway() as gateway:
        gateway_paced = pacing.paced(gateway, pacing.stripe_rate(get_settings().stripe_secret))
        await asyncio.gather(*(gateway_paced.list_invoices(customer) for _ in range(40)))
    rate, busiest = measured(env.sandbox.requests_log("/v1/"))
    print(f"40 concurrent calls: {rate:.1f}/s, busiest second {busiest}")
    assert rate <= 0.8 * STRIPE_TEST_MODE_LIMIT * 1.02
    assert busiest < STRIPE_TEST_MODE_LIMIT


def test_the_paced_rate_follows_the_key_s_mode():
    assert pacing.stripe_rate("sk_test_abc") == 20
    assert pacing.stripe_rate("rk_test_abc") == 20
    assert pacing.stripe_rate("sk_live_abc") == 80
    assert pacing.stripe_rate("rk_live_abc") == 80


async def test_quantity_updates_over_the_hourly_budget_wait_for_the_job(
    env: Env, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(quantities, "UPDATES_PER_HOUR", 2)
    workspace_id, _, sub_id = await subscribe(env, plan="business", name="Busy")
    before = len(env.quantity_updates(sub_id))
    for i in range(2):
        add_members(workspace_id, 1, prefix=f"m{i}")
        assert (await quantities.sync_quantities(workspace_id=workspace_id)).changed
    assert len(env.quantity_updates(sub_id)) == before + 2

    add_members(workspace_id, 1, prefix="third")  # over the budget: deferred
    outcome = await quantities.sync_quantities(workspace_id=workspace_id)
    assert not outcome.changed and outcome.reason.startswith("deferred")
    add_members(workspace_id, 2, prefix="fourth")  # arrives meanwhile: coalesced with it
    assert await quantities.sync_dirty_accounts(older_than=0) == 1
    assert len(env.quantity_updates(sub_id)) == before + 2  # still nothing sent
    account = await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))
    assert account.quantities_dirty_since is not None  # kept, not dropped

    with session_scope() as session:  # an hour later
        session.execute(
            sa.update(BillingActivity)
            .where(BillingActivity.workspace_id == workspace_id)
            .values(created_at=BillingActivity.created_at - timedelta(minutes=61))
        )
    assert await quantities.sync_dirty_accounts(older_than=0) == 1
    assert len(env.quantity_updates(sub_id)) == before + 3  # both changes in one update
    items = env.stripe().v1.subscriptions.retrieve(sub_id)["items"].data
    seats = {i.price.lookup_key: i.quantity for i in items}["business_seat_month"]
    assert seats == 6  # the owner and five members
