"""Promotion codes at upgrade and the retention offer, against the sandbox over HTTP.

Stripe's contract (https://docs.stripe.com/billing/subscriptions/coupons):
- a promotion code is looked up by its customer-facing code among the active ones
  (https://docs.stripe.com/api/promotion_codes/list, `code`, `active`), and applied to a
  subscription as `discounts=[{promotion_code: id}]`
  (https://docs.stripe.com/api/subscriptions/create#create_subscription-discounts);
- `create_preview` with the same `discounts` shows the discounted first invoice
  (https://docs.stripe.com/api/invoices/create_preview#create_create_preview-discounts), so the
  amount the owner sees is the amount Stripe then bills;
- a coupon with `duration=repeating` takes its percentage off the invoices of
  `duration_in_months` (https://docs.stripe.com/api/coupons/object#coupon_object-duration).
"""

from __future__ import annotations

import asyncio

import pytest

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.services import cancel, discounts
from clerk_portal.billing.services.upgrade import (
    apply_promotion_code,
    complete_upgrade,
    start_upgrade,
)
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import InvalidValue
from clerk_portal.demo.clock import advance_demo_clock
from clerk_portal.workspace import repository

from .conftest import Env, make_workspace
from .helpers import PAST_THE_RENEWAL, activity_kinds, subscribe


async def _account(workspace_id: int):
    return await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))


async def test_a_promotion_code_at_upgrade_is_previewed_and_billed_to_the_cent(env: Env):
    workspace_id, owner = make_workspace(members=2, numbers=4)  # 3 seats, 1 extra number
    full = 3 * 4900 + 1 * 800
    applied = await apply_promotion_code(
        workspace_id=workspace_id, plan="business", interval="month", code="  launch20 "
    )
    assert applied.code == "LAUNCH20" and applied.description == "20% off the first invoice"
    assert applied.discount_cents == full // 5 and applied.amount_due_cents == full - full // 5

    start = await start_upgrade(workspace_id=workspace_id, plan="business", interval="month")
    env.confirm_card(start, "4242424242424242")
    result = await complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner,
        setup_intent_id=start.setup_intent_id,
        plan="business",
        interval="month",
        promotion_code_id=applied.promotion_code_id,
    )
    assert result.amount_charged_cents == applied.amount_due_cents  # the preview is the bill
    account = await _account(workspace_id)
    invoices = env.stripe().v1.invoices.list({"subscription": account.stripe_subscription_id})
    invoice = invoices.data[0]
    assert invoice.total == applied.amount_due_cents
    assert [d.amount for d in invoice.total_discount_amounts] == [applied.discount_cents]
    # a `once` coupon: the renewal is billed in full
    await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
    env.settle()
    renewal = env.stripe().v1.invoices.list({"subscription": account.stripe_subscription_id})
    assert renewal.data[0].total == full


@pytest.mark.parametrize(
    ("typed", "refusal", "error"),
    [
        ("NOPE123", "NOPE123 is not a valid promotion code.", BillingError),
        ("", "Enter a promotion code.", InvalidValue),
        ("LAUNCH-20", "A promotion code is letters and digits only.", InvalidValue),
        ("A" * 65, "at most 64 characters", InvalidValue),
    ],
)
async def test_a_bad_code_is_refused_with_a_message_and_changes_nothing(
    env: Env, typed: str, refusal: str, error: type[Exception]
):
    workspace_id, _ = make_workspace()
    before = await _account(workspace_id)
    with pytest.raises(error) as refused:
        await apply_promotion_code(
            workspace_id=workspace_id, plan="startup", interval="month", code=typed
        )
    assert refusal in str(refused.value)
    after = await _account(workspace_id)
    assert (after.stripe_subscription_id, after.status) == (
        before.stripe_subscription_id,
        "trialing",
    )


async def test_a_deactivated_code_is_refused(env: Env):
    workspace_id, _ = make_workspace()
    promo = env.stripe().v1.promotion_codes.list({"code": "LAUNCH20"}).data[0]
    env.stripe().v1.promotion_codes.update(promo.id, {"active": False})
    with pytest.raises(BillingError, match="not a valid promotion code"):
        await apply_promotion_code(
            workspace_id=workspace_id, plan="startup", interval="month", code="LAUNCH20"
        )


async def test_the_retention_offer_replaces_the_cancel_and_is_made_once(env: Env):
    workspace_id, owner, subscription_id = await subscribe(env, plan="startup", members=1)
    assert await discounts.retention_offer(workspace_id) == "25% off for 3 months"
    # a double click (or two tabs): one discount, one history row
    messages = await asyncio.gather(
        *(
            discounts.accept_retention_offer(workspace_id=workspace_id, actor_user_id=owner)
            for _ in range(2)
        ),
        return_exceptions=True,
    )
    assert any(isinstance(m, str) and "25% off for 3 months" in m for m in messages)
    assert (await activity_kinds(workspace_id)).count("retention_accepted") == 1
    subscription = env.stripe().v1.subscriptions.retrieve(
        subscription_id, {"expand": ["discounts"]}
    )
    assert [d.source.coupon for d in subscription.discounts] == ["clerk_retention_25_3m"]
    account = await _account(workspace_id)
    assert not account.cancel_at_period_end and account.status == "active"
    assert await discounts.retention_offer(workspace_id) is None  # once per workspace
    with pytest.raises(BillingError, match="not available"):
        await discounts.accept_retention_offer(workspace_id=workspace_id, actor_user_id=owner)

    # Stripe's `repeating` discount lasts 3 months from its redemption (today, at the start of
    # a paid month): the renewals created before its end are discounted, the third is not.
    full = 2 * 2900
    totals = []
    for _ in range(4):
        await advance_demo_clock(workspace_id=workspace_id, days=PAST_THE_RENEWAL)
        env.settle()
        totals.append(
            env.stripe().v1.invoices.list({"subscription": subscription_id}).data[0].total
        )
    assert totals == [full * 3 // 4, full * 3 // 4, full, full]


async def test_no_offer_once_canceling_or_before_a_subscription(env: Env):
    trial_id, _ = make_workspace()
    assert await discounts.retention_offer(trial_id) is None
    workspace_id, owner, _ = await subscribe(env, plan="startup")
    await cancel.cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner, reason="too_expensive"
    )
    assert await discounts.retention_offer(workspace_id) is None
    with pytest.raises(BillingError, match="not available"):
        await discounts.accept_retention_offer(workspace_id=workspace_id, actor_user_id=owner)
