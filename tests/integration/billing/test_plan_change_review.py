"""Issue 10, bug 1: a plan change is charged only as reviewed.

The review the owner saw is bound to the selection and the amounts it showed; confirming a review
for another selection, or after the price moved, changes and charges nothing.
"""

from __future__ import annotations

import pytest

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import plan_change

from .conftest import Env, add_members
from .helpers import activity_kinds, subscribe


def _invoices(env: Env, subscription_id: str) -> list:
    return env.stripe().v1.invoices.list({"subscription": subscription_id, "limit": 100}).data


async def test_a_confirmed_review_charges_exactly_the_amount_it_showed(env: Env):
    workspace_id, owner, sub = await subscribe(env, plan="business", members=2, numbers=2)
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="business", interval="year"
    )
    assert preview.direction == "upgrade" and preview.review.token

    result = await plan_change.change_plan(
        workspace_id=workspace_id,
        actor_user_id=owner,
        plan="business",
        interval="year",
        review=preview.review,
    )

    assert result.amount_charged_cents == preview.amount_due_now_cents
    latest = _invoices(env, sub)[0]
    assert (latest.billing_reason, latest.amount_paid) == (
        "subscription_update",
        preview.amount_due_now_cents,
    )


async def test_a_review_of_another_selection_changes_and_charges_nothing(env: Env):
    """The issue's sequence: Business monthly → review Startup → pick Business yearly → Confirm."""
    workspace_id, owner, sub = await subscribe(env, plan="business", members=2, numbers=2)
    startup = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="startup", interval="month"
    )
    assert startup.message.startswith("From ") and startup.direction == "downgrade"
    writes, invoices = len(env.quantity_updates(sub)), len(_invoices(env, sub))

    with pytest.raises(BillingError, match="review"):
        await plan_change.change_plan(
            workspace_id=workspace_id,
            actor_user_id=owner,
            plan="business",
            interval="year",
            review=startup.review,
        )

    assert len(env.quantity_updates(sub)) == writes
    assert len(_invoices(env, sub)) == invoices
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.interval, overview.pending_plan) == ("business", "month", None)
    assert not {"plan_upgrade", "plan_downgrade_scheduled"} & set(
        await activity_kinds(workspace_id)
    )


async def test_a_review_is_refused_once_the_amount_it_showed_moved(env: Env):
    workspace_id, owner, sub = await subscribe(env, plan="business", members=2, numbers=2)
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="business", interval="year"
    )
    add_members(workspace_id, 1)  # one more seat: the yearly price is no longer what was shown
    writes, invoices = len(env.quantity_updates(sub)), len(_invoices(env, sub))

    with pytest.raises(BillingError, match="review"):
        await plan_change.change_plan(
            workspace_id=workspace_id,
            actor_user_id=owner,
            plan="business",
            interval="year",
            review=preview.review,
        )

    assert (len(env.quantity_updates(sub)), len(_invoices(env, sub))) == (writes, invoices)
    assert (await load_overview(workspace_id)).interval == "month"


async def test_a_downgrade_scheduled_again_after_an_undo_is_recorded_again(env: Env):
    """Found by the money machine: the same downgrade reviewed again after an undo has the same
    review token, and its history row was taken for a repeat of the first one."""
    workspace_id, owner, _ = await subscribe(env, plan="business", members=1)
    for _ in range(2):
        preview = await plan_change.preview_plan_change(
            workspace_id=workspace_id, plan="startup", interval="month"
        )
        await plan_change.change_plan(
            workspace_id=workspace_id,
            actor_user_id=owner,
            plan="startup",
            interval="month",
            review=preview.review,
        )
        overview = await load_overview(workspace_id)
        assert (overview.pending_plan, overview.pending_interval) == ("startup", "month")
        await plan_change.undo_pending_change(workspace_id=workspace_id, actor_user_id=owner)
    kinds = await activity_kinds(workspace_id)
    assert kinds.count("plan_downgrade_scheduled") == 2
    assert kinds.count("plan_change_undone") == 2
