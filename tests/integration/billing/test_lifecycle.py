"""A test clock run: trial end, renewals, a failed renewal and recovery, cancel and resume."""

from __future__ import annotations

import pytest

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import cancel, card
from clerk_portal.core.errors import InvalidValue
from clerk_portal.demo.clock import advance_demo_clock

from .conftest import Env
from .helpers import PAST_THE_RENEWAL, activity_kinds, subscribe


async def test_trial_end_then_a_renewal_are_invoiced_and_mirrored(env: Env):
    workspace_id, _, _ = await subscribe(env, plan="startup", keep_trial=True)
    overview = await load_overview(workspace_id)
    assert overview.status == "trialing" and overview.trial.days_left == 14
    assert not overview.trial.expired and not overview.trial.read_only

    await advance_demo_clock(workspace_id=workspace_id, days=15)
    env.settle()
    overview = await load_overview(workspace_id)
    assert overview.status == "active" and not overview.trial.on_trial
    assert [i.status for i in overview.latest_invoices][:1] == ["paid"]
    assert overview.latest_invoices[0].total_cents == 2900

    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    paid = [i for i in overview.latest_invoices if i.status == "paid" and i.total_cents == 2900]
    assert len(paid) == 2
    kinds = await activity_kinds(workspace_id)
    assert "trial_will_end" in kinds and kinds.count("invoice_paid") >= 2


async def test_a_failed_renewal_goes_past_due_and_a_new_card_brings_it_back(env: Env):
    workspace_id, owner_id, _ = await subscribe(env, plan="startup")
    setup = await card.start_card_update(workspace_id=workspace_id)
    env.confirm_card(setup, "4000000000000341")  # attaches fine, every charge fails
    await card.complete_card_update(
        workspace_id=workspace_id, actor_user_id=owner_id, setup_intent_id=setup.setup_intent_id
    )
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    overview = await load_overview(workspace_id)
    assert overview.status == "past_due" and overview.past_due
    assert overview.banner and "payment failed" in overview.banner
    assert (
        overview.open_invoice is not None and overview.open_invoice.amount_remaining_cents == 2900
    )

    setup = await card.start_card_update(workspace_id=workspace_id)
    env.confirm_card(setup, "4242424242424242")
    result = await card.pay_open_invoice(
        workspace_id=workspace_id, actor_user_id=owner_id, setup_intent_id=setup.setup_intent_id
    )
    assert (result.status, result.amount_paid_cents) == ("active", 2900)
    env.settle()
    overview = await load_overview(workspace_id)
    assert overview.status == "active" and overview.open_invoice is None
    assert overview.card_last4 == "4242"


async def test_cancel_at_period_end_ends_it_and_resume_keeps_it(env: Env):
    canceling, owner, _ = await subscribe(env, plan="startup", name="Canceling")
    resuming, owner2, _ = await subscribe(env, plan="startup", name="Resuming")
    with pytest.raises(InvalidValue):
        await cancel.cancel_at_period_end(workspace_id=canceling, actor_user_id=owner, reason="meh")
    with pytest.raises(BillingError, match="end of the paid period"):
        await cancel.cancel_now(workspace_id=canceling, actor_user_id=owner, reason="unused")
    for workspace_id, actor in ((canceling, owner), (resuming, owner2)):
        await cancel.cancel_at_period_end(
            workspace_id=workspace_id, actor_user_id=actor, reason="too_expensive", comment="pricey"
        )
        overview = await load_overview(workspace_id)
        assert overview.cancel_at_period_end and overview.cancel_at is not None
        assert overview.next_invoice_cents is None
    await cancel.resume(workspace_id=resuming, actor_user_id=owner2)
    assert not (await load_overview(resuming)).cancel_at_period_end

    for workspace_id in (canceling, resuming):
        await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    ended, kept = await load_overview(canceling), await load_overview(resuming)
    assert ended.status == "canceled" and ended.trial.read_only
    assert kept.status == "active" and not kept.cancel_at_period_end
    assert "cancel_scheduled" in await activity_kinds(canceling)
    assert "resumed" in await activity_kinds(resuming)
    client = env.stripe()
    sub = client.v1.subscriptions.list({"status": "canceled"}).data[0]
    assert sub.cancellation_details.feedback == "too_expensive"


async def test_an_allowed_immediate_cancel_ends_it_now(env: Env):
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    await cancel.cancel_now(
        workspace_id=workspace_id, actor_user_id=owner, reason="other", allow_immediate=True
    )
    assert (await load_overview(workspace_id)).status == "canceled"
