"""After a failed renewal that ended in cancelation: what the overview says and what can be done.

Issue 10, bug 8: the canceled overview said "You are on the free trial: 0 days left" and the open
invoice had neither a pay nor a void action.
"""

from __future__ import annotations

import pytest

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import card, invoices
from clerk_portal.core.errors import NotFound
from clerk_portal.demo.clock import advance_demo_clock

from .conftest import Env
from .helpers import PAST_THE_RENEWAL, activity_kinds, subscribe


async def _canceled_after_failed_renewal(env: Env) -> tuple[int, int]:
    workspace_id, owner_id, _ = await subscribe(env, plan="startup")
    setup = await card.start_card_update(workspace_id=workspace_id)
    env.confirm_card(setup, "4000000000000341")  # attaches fine, every charge fails
    await card.complete_card_update(
        workspace_id=workspace_id, actor_user_id=owner_id, setup_intent_id=setup.setup_intent_id
    )
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)  # the renewal fails
    env.settle()
    assert (await load_overview(workspace_id)).past_due
    await advance_demo_clock(workspace_id=workspace_id, days=10)  # retries run out: canceled
    env.settle()
    return workspace_id, owner_id


async def test_a_canceled_overview_says_so_and_offers_pay_and_void(env: Env):
    workspace_id, owner_id = await _canceled_after_failed_renewal(env)
    overview = await load_overview(workspace_id)
    assert overview.status == "canceled"
    assert overview.plan_status.startswith("Your subscription was canceled on ")
    assert "after a failed payment" in overview.plan_status
    assert "Subscribe again" in overview.plan_status
    assert "free trial" not in overview.plan_status
    unpaid = overview.open_invoice
    assert unpaid is not None and unpaid.amount_remaining_cents == 2900
    assert (unpaid.payable, unpaid.voidable) == (True, True)
    assert not any(row.payable for row in overview.latest_invoices if row.status == "paid")

    voided = await invoices.void_open_invoice(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        stripe_invoice_id=unpaid.stripe_invoice_id,
    )
    assert voided.status == "void"
    assert env.stripe().v1.invoices.retrieve(unpaid.stripe_invoice_id).status == "void"
    env.settle()
    overview = await load_overview(workspace_id)
    assert overview.open_invoice is None
    assert "after a failed payment" not in overview.plan_status
    assert "invoice_voided" in await activity_kinds(workspace_id)
    with pytest.raises(BillingError, match="Only an open invoice"):  # voided already
        await invoices.void_open_invoice(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            stripe_invoice_id=unpaid.stripe_invoice_id,
        )


async def test_pay_now_pays_the_chosen_open_invoice_with_a_new_card(env: Env):
    workspace_id, owner_id = await _canceled_after_failed_renewal(env)
    unpaid = (await load_overview(workspace_id)).open_invoice
    assert unpaid is not None
    setup = await card.start_card_update(workspace_id=workspace_id)
    env.confirm_card(setup, "4242424242424242")
    result = await card.pay_open_invoice(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=setup.setup_intent_id,
        invoice_id=unpaid.stripe_invoice_id,
    )
    assert result.amount_paid_cents == 2900
    env.settle()
    overview = await load_overview(workspace_id)
    assert overview.open_invoice is None and overview.status == "canceled"
    assert overview.latest_invoices[0].status == "paid"


async def test_an_invoice_that_is_not_open_or_not_ours_is_refused(env: Env):
    workspace_id, owner_id, _ = await subscribe(env, plan="startup")
    paid = (await load_overview(workspace_id)).latest_invoices[0]
    assert (paid.status, paid.payable, paid.voidable) == ("paid", False, False)
    with pytest.raises(BillingError, match="Only an open invoice"):
        await invoices.void_open_invoice(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            stripe_invoice_id=paid.stripe_invoice_id,
        )
    with pytest.raises(NotFound):
        await invoices.void_open_invoice(
            workspace_id=workspace_id, actor_user_id=owner_id, stripe_invoice_id="in_not_ours"
        )
    setup = await card.start_card_update(workspace_id=workspace_id)
    env.confirm_card(setup, "4242424242424242")
    with pytest.raises(BillingError, match="not open any more: nothing was charged"):
        await card.pay_open_invoice(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id=setup.setup_intent_id,
            invoice_id=paid.stripe_invoice_id,
        )
