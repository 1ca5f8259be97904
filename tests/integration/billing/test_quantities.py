"""Seats and numbers follow the team: coalesced, prorated, exactly once (faults included)."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from clerk_portal.billing import mirror
from clerk_portal.billing.errors import StripeUnavailable
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import quantities
from clerk_portal.core.db import in_db
from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingActivity
from clerk_portal.workspace import repository
from tests.support.waiting import eventually_async

from .conftest import Env, add_members, make_workspace
from .helpers import subscribe


async def subscribed(env: Env, *, plan: str = "business", members: int = 1, numbers: int = 3):
    workspace_id, _owner_id, subscription_id = await subscribe(
        env, plan=plan, members=members, numbers=numbers
    )
    return workspace_id, subscription_id, await load_overview(workspace_id)


def stripe_quantities(env: Env, subscription_id: str) -> dict[str, int]:
    sub = env.stripe().v1.subscriptions.retrieve(subscription_id)
    return {item.price.lookup_key.split("_")[1]: item.quantity for item in sub["items"].data}


async def add_member_and_sync(workspace_id: int, n: int) -> None:
    await in_db(
        lambda s: repository.add_member(s, workspace_id=workspace_id, email=f"c{n}@example.com")
    )
    await quantities.request_quantity_sync(workspace_id, delay=0.5)


async def test_twenty_concurrent_additions_end_with_one_exact_update(env: Env):
    workspace_id, sub_id, before = await subscribed(env)
    assert before.seats_billed == 2

    await asyncio.gather(*(add_member_and_sync(workspace_id, n) for n in range(20)))
    overview = await load_overview(workspace_id)
    assert overview.syncing and overview.seats_in_use == 22
    await quantities.flush_quantity_syncs()

    assert stripe_quantities(env, sub_id) == {"seat": 22, "number": 0}
    assert len(env.quantity_updates(sub_id)) <= 3
    overview = await load_overview(workspace_id)
    assert (overview.seats_billed, overview.syncing) == (22, False)
    env.settle()
    assert (await load_overview(workspace_id)).seats_billed == 22


async def test_several_workers_syncing_at_once_update_once(env: Env):
    workspace_id, sub_id, _ = await subscribed(env)
    add_members(workspace_id, 3)
    # Five workers: each its own gateway, none sharing the in-process lock (`_sync` skips it).
    workers = [env.gateway() for _ in range(5)]
    outcomes = await asyncio.gather(*(quantities._sync(workspace_id, g) for g in workers))
    for gateway in workers:
        await gateway.aclose()
    assert all(o.seats == 5 for o in outcomes)
    assert stripe_quantities(env, sub_id)["seat"] == 5
    assert len(env.quantity_updates(sub_id)) == 1  # the others were replays or no-ops


async def test_a_sync_retried_after_the_mirror_moved_replays_the_same_update(env: Env):
    """A worker dies after Stripe applied its update, an unrelated event raises the mirror
    version, the sync runs again: it must replay the same update (one key), not send a second.
    """
    workspace_id, sub_id, _ = await subscribed(env)
    env.settle()
    env.sandbox.configure_webhooks(url="")  # the retry comes before the update's webhook
    add_members(workspace_id, 3)

    class DiesAfterStripeAnswers(type(env.gateway())):
        async def update_subscription(self, *args, **kwargs):
            await super().update_subscription(*args, **kwargs)
            raise RuntimeError("the worker died before writing the mirror")

    async with DiesAfterStripeAnswers.from_settings(get_settings()) as dying:
        with pytest.raises(RuntimeError):
            await quantities._sync(workspace_id, dying)
    await in_db(lambda s: mirror.bump(mirror.lock_account(s, workspace_id)))  # e.g. invoice.paid

    outcome = await quantities.sync_quantities(workspace_id=workspace_id)

    assert outcome.changed and stripe_quantities(env, sub_id)["seat"] == 5
    assert len(env.quantity_updates(sub_id)) == 1
    kinds = await in_db(
        lambda s: list(
            s.exec(select(BillingActivity.kind).where(BillingActivity.workspace_id == workspace_id))
        )
    )
    assert kinds.count("quantities") == 1


def _subscription_posts(env: Env, sub_id: str) -> list[dict]:
    log = env.sandbox.requests_log(f"/v1/subscriptions/{sub_id}")
    return [r for r in log if r["method"] == "POST"]


async def test_a_flush_waits_for_a_sync_already_running(env: Env):
    workspace_id, sub_id, _ = await subscribed(env)
    add_members(workspace_id, 2)
    # The sync's update hangs a moment at Stripe: the flush comes while it is talking to Stripe.
    env.sandbox.add_fault("POST", f"/v1/subscriptions/{sub_id}", hang_seconds=0.5, count=1)
    await quantities.request_quantity_sync(workspace_id, delay=0)
    await eventually_async(
        lambda: _subscription_posts(env, sub_id), what="the sync's update to reach Stripe"
    )

    await quantities.flush_quantity_syncs()

    assert stripe_quantities(env, sub_id)["seat"] == 4


async def test_numbers_beyond_the_included_ones_are_billed(env: Env):
    workspace_id, sub_id, _ = await subscribed(env, numbers=3)
    await in_db(lambda s: repository.add_number(s, workspace_id=workspace_id, e164="+14155559001"))
    await in_db(lambda s: repository.add_number(s, workspace_id=workspace_id, e164="+14155559002"))
    outcome = await quantities.sync_quantities(workspace_id=workspace_id)
    assert outcome.changed and outcome.numbers_billed == 2
    assert stripe_quantities(env, sub_id) == {"seat": 2, "number": 2}
    again = await quantities.sync_quantities(workspace_id=workspace_id)
    assert not again.changed
    assert len(env.quantity_updates(sub_id)) == 1


async def test_the_preview_shows_the_proration_and_the_new_total(env: Env):
    workspace_id, _sub_id, _ = await subscribed(env)
    preview = await quantities.preview_quantity_change(workspace_id=workspace_id, seats_delta=1)
    assert preview.recurring_cents == 3 * 4900
    # Added a moment after the period started: nearly a whole month of one seat.
    assert 4890 <= preview.prorated_cents <= 4900
    assert preview.message.startswith("+$4")
    assert preview.message.endswith("prorated on your next invoice, then $147.00/month")


async def test_trial_workspaces_have_nothing_to_sync(env: Env):
    workspace_id, _ = make_workspace()
    add_members(workspace_id, 2)
    outcome = await quantities.sync_quantities(workspace_id=workspace_id)
    assert not outcome.changed
    preview = await quantities.preview_quantity_change(workspace_id=workspace_id, seats_delta=1)
    assert (preview.prorated_cents, preview.recurring_cents) == (0, 4 * 2900)


@pytest.mark.parametrize("status", [500, 429])
async def test_a_failing_stripe_neither_duplicates_nor_loses_the_update(env: Env, status: int):
    workspace_id, sub_id, _ = await subscribed(env)
    add_members(workspace_id, 2)
    env.sandbox.add_fault("POST", f"/v1/subscriptions/{sub_id}", status=status, count=1)

    outcome = await quantities.sync_quantities(workspace_id=workspace_id)

    assert outcome.changed
    assert stripe_quantities(env, sub_id)["seat"] == 4
    log = [
        r for r in env.sandbox.requests_log(f"/v1/subscriptions/{sub_id}") if r["method"] == "POST"
    ]
    assert [r["status"] for r in log] == [status, 200]
    assert len({r["idempotency_key"] for r in log}) == 1


async def test_a_hung_request_is_retried_with_the_same_key_and_applied_once(env: Env):
    from clerk_portal.billing.gateway import StripeGateway
    from clerk_portal.core.settings import get_settings

    workspace_id, sub_id, _ = await subscribed(env)
    add_members(workspace_id, 1)
    env.sandbox.add_fault("POST", f"/v1/subscriptions/{sub_id}", hang_seconds=1.5, count=1)
    async with StripeGateway.from_settings(get_settings(), timeout=0.5) as gateway:
        outcome = await quantities.sync_quantities(workspace_id=workspace_id, gateway=gateway)
    assert outcome.changed
    # The hung request finishes late (its logged status is set then) and must not re-apply.
    log = await eventually_async(
        lambda: (
            (posts := _subscription_posts(env, sub_id))
            and len(posts) >= 2
            and all(r["status"] is not None for r in posts)
            and posts
        ),
        what="the hung update and its retry to finish",
    )
    assert len({r["idempotency_key"] for r in log}) == 1
    assert sum(1 for r in log if r["status"] == 200 and not r["replayed"]) == 1
    assert stripe_quantities(env, sub_id)["seat"] == 3
    invoice_items = env.stripe().v1.invoice_items.list().data
    assert len([ii for ii in invoice_items if ii.amount > 0]) == 1  # one proration, not two


async def test_stripe_down_for_good_leaves_the_account_dirty_for_a_later_retry(env: Env):
    workspace_id, sub_id, _ = await subscribed(env)
    add_members(workspace_id, 1)
    await quantities.request_quantity_sync(workspace_id, delay=0)
    env.sandbox.add_fault("POST", f"/v1/subscriptions/{sub_id}", status=503, count=20)
    with pytest.raises(StripeUnavailable):
        await quantities.sync_quantities(workspace_id=workspace_id)
    env.sandbox.clear_faults()
    await quantities.flush_quantity_syncs()
    assert await quantities.sync_dirty_accounts(older_than=0) <= 1
    assert stripe_quantities(env, sub_id)["seat"] == 3
    assert not (await load_overview(workspace_id)).syncing
