"""A promotion code in a plan change (issue 14), against the sandbox over HTTP: the code is checked
as at upgrade, previewed with the change, and confirming puts it on the subscription update, so
the amount the owner reviewed is the amount Stripe bills.

Stripe's contract:
- `create_preview` with `discounts=[{promotion_code}]` previews the invoice of a subscription
  change with the code (https://docs.stripe.com/api/invoices/create_preview#create_create_preview-discounts);
- `discounts` on a subscription update applies it
  (https://docs.stripe.com/api/subscriptions/update#update_subscription-discounts), and the
  invoice shows it in `total_discount_amounts`
  (https://docs.stripe.com/api/invoices/object#invoice_object-total_discount_amounts);
- a monthly → yearly switch starts a new billing period at once, invoiced with
  `proration_behavior=always_invoice` (https://docs.stripe.com/billing/subscriptions/billing-cycle#changing).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.services import plan_change
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import InvalidValue
from clerk_portal.workspace import repository

from .conftest import Env
from .helpers import subscribe


async def _account(workspace_id: int):
    return await in_db(lambda s: repository.get_billing_account(s, workspace_id=workspace_id))


async def test_a_code_in_a_plan_change_is_previewed_and_billed_to_the_cent(env: Env):
    workspace_id, owner, subscription_id = await subscribe(env, members=2, numbers=4)
    plain = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="business", interval="year"
    )
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="business", interval="year", promotion_code=" launch20 "
    )
    applied = preview.applied_code()
    assert (applied.code, applied.description) == ("LAUNCH20", "20% off the first invoice")
    assert preview.discount_cents == applied.discount_cents > 0
    assert applied.amount_due_cents == preview.amount_due_now_cents
    assert preview.amount_due_now_cents == plain.amount_due_now_cents - preview.discount_cents
    assert f"LAUNCH20 takes ${preview.discount_cents / 100:,.2f} off" in preview.message
    assert preview.review is not None and preview.review.promotion_code_id
    assert preview.review.token != (plain.review.token if plain.review else "")

    result = await plan_change.change_plan(
        workspace_id=workspace_id,
        actor_user_id=owner,
        plan="business",
        interval="year",
        review=preview.review,
    )
    assert result.amount_charged_cents == preview.amount_due_now_cents  # the preview is the bill
    sub = env.stripe().v1.subscriptions.retrieve(subscription_id)
    assert sub.discounts == []  # a `once` coupon ends with the invoice it took money off
    invoice = env.stripe().v1.invoices.retrieve(sub.latest_invoice, {"expand": ["discounts"]})
    assert [d.promotion_code for d in invoice.discounts] == [preview.review.promotion_code_id]
    assert invoice.billing_reason == "subscription_update"
    assert invoice.amount_paid == preview.amount_due_now_cents
    assert [d.amount for d in invoice.total_discount_amounts] == [preview.discount_cents]
    account = await _account(workspace_id)
    assert (account.plan, account.interval) == ("business", "year")


async def test_a_forged_code_on_a_review_without_one_is_refused_and_nothing_is_charged(env: Env):
    workspace_id, owner, subscription_id = await subscribe(env, members=2, numbers=4)
    promo = env.stripe().v1.promotion_codes.list({"code": "LAUNCH20"}).data[0]
    plain = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="business", interval="year"
    )
    assert plain.review is not None
    forged = replace(plain.review, promotion_code_id=promo.id)  # the token does not cover it
    with pytest.raises(BillingError, match="review the change again"):
        await plan_change.change_plan(
            workspace_id=workspace_id,
            actor_user_id=owner,
            plan="business",
            interval="year",
            review=forged,
        )
    sub = env.stripe().v1.subscriptions.retrieve(subscription_id)
    assert sub.discounts == [] and sub.items.data[0].price.recurring.interval == "month"


@pytest.mark.parametrize(
    ("typed", "refusal", "error"),
    [
        ("NOPE123", "NOPE123 is not a valid promotion code.", BillingError),
        ("", "Enter a promotion code.", InvalidValue),
        ("LAUNCH-20", "A promotion code is letters and digits only.", InvalidValue),
    ],
)
async def test_a_bad_code_in_a_plan_change_is_refused_with_the_upgrades_message(
    env: Env, typed: str, refusal: str, error: type[Exception]
):
    workspace_id, _owner, _sub = await subscribe(env, members=2, numbers=4)
    with pytest.raises(error) as refused:
        await plan_change.preview_plan_change(
            workspace_id=workspace_id, plan="business", interval="year", promotion_code=typed
        )
    assert refusal in str(refused.value)


async def test_a_code_on_a_downgrade_is_refused(env: Env):
    workspace_id, _owner, _sub = await subscribe(env, interval="year", members=2, numbers=4)
    with pytest.raises(BillingError, match="applies to a change billed today"):
        await plan_change.preview_plan_change(
            workspace_id=workspace_id, plan="business", interval="month", promotion_code="LAUNCH20"
        )


async def test_a_code_on_the_current_plan_is_refused_with_nothing_to_confirm(env: Env):
    workspace_id, _owner, _sub = await subscribe(env, members=2, numbers=4)  # Business monthly
    preview = await plan_change.preview_plan_change(
        workspace_id=workspace_id, plan="business", interval="month", promotion_code="LAUNCH20"
    )
    assert preview.review is None
    with pytest.raises(BillingError, match="This is your current plan"):
        preview.applied_code()
