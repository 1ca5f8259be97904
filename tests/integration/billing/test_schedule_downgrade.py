"""Downgrades and interval changes at the period end through Stripe subscription schedules.

Stripe's way (https://docs.stripe.com/billing/subscriptions/subscription-schedules/use-cases,
"Downgrading a subscription at the period end"): a schedule from the subscription, a second
phase with the new prices; undo is a release (https://docs.stripe.com/api/subscription_schedules/release).
"""

from __future__ import annotations

from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import plan_change, quantities
from clerk_portal.core.db import in_db
from clerk_portal.demo.clock import advance_demo_clock
from clerk_portal.workspace import repository

from .conftest import Env, add_members
from .helpers import PAST_THE_RENEWAL, activity_kinds, subscribe


async def _account(workspace_id: int):
    return await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))


def _phases(env: Env, schedule_id: str) -> list[list[tuple[str, int]]]:
    schedule = env.stripe().v1.subscription_schedules.retrieve(
        schedule_id, {"expand": ["phases.items.price"]}
    )
    return [sorted((i.price.lookup_key, i.quantity) for i in p["items"]) for p in schedule.phases]


def _recurring_cents(env: Env, invoice_id: str) -> int:
    lines = env.stripe().v1.invoices.retrieve(invoice_id).lines.data
    return sum(i.amount for i in lines if not i.parent.subscription_item_details.proration)


async def test_a_downgrade_is_a_schedule_whose_renewal_bills_the_smaller_plan(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="business", members=2)  # 3 seats
    before = await _account(workspace_id)
    result = await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
    )
    assert result.direction == "downgrade" and result.amount_charged_cents == 0
    account = await _account(workspace_id)
    assert account.stripe_schedule_id and account.stripe_schedule_id.startswith("sub_sched_")
    assert (account.pending_plan, account.pending_interval) == ("startup", "month")
    assert account.pending_change_at == before.current_period_end
    subscription = env.stripe().v1.subscriptions.retrieve(account.stripe_subscription_id or "")
    assert subscription.schedule == account.stripe_schedule_id
    assert _phases(env, account.stripe_schedule_id) == [
        [("business_number_month", 0), ("business_seat_month", 3)],
        [("startup_number_month", 0), ("startup_seat_month", 3)],
    ]
    env.settle()
    overview = await load_overview(workspace_id)
    assert overview.plan == "business" and overview.pending_plan == "startup"
    assert overview.next_invoice_cents == 3 * 2900  # Stripe's preview of the renewal

    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.interval, overview.pending_plan) == ("startup", "month", None)
    assert overview.latest_invoices[0].total_cents == 3 * 2900
    assert "plan_downgrade" in await activity_kinds(workspace_id)
    # the schedule's last phase runs a month, then it releases the subscription
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    account = await _account(workspace_id)
    assert account.stripe_schedule_id is None and account.plan == "startup"


async def test_undo_releases_the_schedule_and_the_renewal_stays_on_the_plan(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="business", members=1)
    await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
    )
    schedule_id = (await _account(workspace_id)).stripe_schedule_id or ""
    await plan_change.undo_pending_change(workspace_id=workspace_id, actor_user_id=owner)
    schedule = env.stripe().v1.subscription_schedules.retrieve(schedule_id)
    assert schedule.status == "released"
    account = await _account(workspace_id)
    assert (account.pending_plan, account.stripe_schedule_id) == (None, None)
    env.settle()
    assert (await load_overview(workspace_id)).next_invoice_cents == 2 * 4900
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.pending_plan) == ("business", None)
    assert overview.latest_invoices[0].total_cents == 2 * 4900
    assert "plan_change_undone" in await activity_kinds(workspace_id)
    # scheduled again after the undo: a new schedule
    await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
    )
    again = (await _account(workspace_id)).stripe_schedule_id
    assert again and again != schedule_id


async def test_an_interval_change_month_to_year_at_the_period_end(env: Env):
    """Business monthly → Startup yearly: the second phase starts a yearly cycle at the end."""
    workspace_id, owner, _ = await subscribe(env, plan="business", members=1)
    period_end = (await _account(workspace_id)).current_period_end
    await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="year"
    )
    account = await _account(workspace_id)
    assert (account.pending_plan, account.pending_interval) == ("startup", "year")
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.interval, overview.pending_plan) == ("startup", "year", None)
    assert overview.latest_invoices[0].total_cents == 2 * 29000
    account = await _account(workspace_id)
    assert account.current_period_start == period_end


async def test_a_quantity_change_while_pending_keeps_both_phases_right(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="business", members=1, numbers=2)
    await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
    )
    schedule_id = (await _account(workspace_id)).stripe_schedule_id or ""
    add_members(workspace_id, 1)
    await quantities.sync_quantities(workspace_id=workspace_id)
    # Business includes 3 numbers, Startup 1: the second phase bills one extra number
    assert _phases(env, schedule_id) == [
        [("business_number_month", 0), ("business_seat_month", 3)],
        [("startup_number_month", 1), ("startup_seat_month", 3)],
    ]
    account = await _account(workspace_id)
    assert (account.pending_plan, account.stripe_schedule_id) == ("startup", schedule_id)
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert overview.plan == "startup"
    # the renewal bills Startup for the new counts (plus the added seat's Business proration)
    assert _recurring_cents(env, overview.latest_invoices[0].stripe_invoice_id) == 3 * 2900 + 1000


async def test_the_price_of_a_new_member_shows_while_a_downgrade_waits(env: Env):
    """The invite dialog's preview while a schedule manages the subscription: Stripe refuses any
    cancellation field on such a subscription ("updating any cancelation behavior directly is
    not allowed"), so the preview must not send `cancel_at_period_end` (it did: a 400)."""
    workspace_id, owner, _ = await subscribe(env, plan="business", members=1)
    await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
    )
    preview = await quantities.preview_quantity_change(workspace_id=workspace_id, seats_delta=1)
    assert preview.seats == 3 and preview.prorated_cents > 0
    assert preview.recurring_cents == 3 * 4900  # still billed as Business until the period end
