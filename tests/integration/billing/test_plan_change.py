"""Plan and interval changes: upgrades charged now, downgrades pending until the period end."""

from __future__ import annotations

import pytest

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import plan_change
from clerk_portal.demo.clock import advance_demo_clock

from .conftest import Env, add_members
from .helpers import PAST_THE_RENEWAL, activity_kinds, subscribe


async def test_an_upgrade_is_previewed_by_stripe_and_charged_now(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="startup", members=1)
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="business", interval="month"
    )
    assert preview.direction == "upgrade" and preview.new_recurring_cents == 2 * 4900
    # Right after subscribing: nearly the whole difference of two seats (2 × $20).
    assert 3990 <= preview.amount_due_now_cents <= 4000
    assert preview.message.endswith("due today, then $98.00/month")

    result = await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="business", interval="month"
    )
    assert result.amount_charged_cents == preview.amount_due_now_cents
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.interval, overview.recurring_cents) == (
        "business",
        "month",
        9800,
    )
    assert "plan_upgrade" in await activity_kinds(workspace_id)


async def test_monthly_to_yearly_is_an_upgrade_that_starts_a_yearly_period(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    result = await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="year"
    )
    assert result.direction == "upgrade"
    assert 29000 - 2900 <= result.amount_charged_cents <= 29000 - 2890
    overview = await load_overview(workspace_id)
    assert (overview.interval, overview.recurring_cents) == ("year", 29000)


async def test_a_downgrade_waits_for_the_period_end_and_can_be_undone(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="business", members=10)
    with pytest.raises(BillingError, match="Remove 1 member"):
        await plan_change.change_plan(
            workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
        )
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="startup", interval="month"
    )
    assert preview.problems

    workspace_id, owner, _ = await subscribe(env, plan="business", name="Small", members=1)
    result = await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
    )
    assert result.direction == "downgrade" and result.amount_charged_cents == 0
    overview = await load_overview(workspace_id)
    assert overview.plan == "business" and overview.pending_plan == "startup"
    assert overview.pending_change_at == overview.next_invoice_at
    assert overview.next_invoice_cents == 2 * 2900
    await plan_change.undo_pending_change(workspace_id=workspace_id, actor_user_id=owner)
    assert (await load_overview(workspace_id)).pending_plan is None
    with pytest.raises(BillingError):
        await plan_change.undo_pending_change(workspace_id=workspace_id, actor_user_id=owner)

    await plan_change.change_plan(
        workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
    )
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.pending_plan) == ("startup", None)
    renewal = overview.latest_invoices[0]
    assert (renewal.status, renewal.total_cents) == ("paid", 2 * 2900)  # billed at the new price
    assert "plan_downgrade" in await activity_kinds(workspace_id)


async def test_no_change_and_enterprise_are_refused(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    with pytest.raises(BillingError, match="already on"):
        await plan_change.change_plan(
            workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
        )
    with pytest.raises(BillingError, match="sales team"):
        await plan_change.change_plan(
            workspace_id=workspace_id, actor_user_id=owner, plan="enterprise", interval="month"
        )
    add_members(workspace_id, 10)  # 11 seats: more than Startup allows
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="startup", interval="year"
    )
    assert preview.problems and "up to 10 seats" in preview.message
    with pytest.raises(BillingError, match="up to 10 seats"):
        await plan_change.change_plan(
            workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="year"
        )
