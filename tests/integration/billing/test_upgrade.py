"""Trial → upgrade (monthly, yearly), declines, 3-D Secure, and the page's data from the mirror."""

from __future__ import annotations

import asyncio

import pytest
import stripe
from sqlmodel import select

from clerk_portal.billing.errors import BillingError, CardDeclined, PaymentRequiresAction
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services.upgrade import (
    complete_upgrade,
    finish_authenticated_upgrade,
    preview_upgrade,
    start_upgrade,
)
from clerk_portal.core.db import session_scope
from clerk_portal.models import BillingAccount, BillingActivity, Invoice
from clerk_portal.workspace import live, repository

from .conftest import Env, make_workspace


async def upgrade(
    env: Env,
    workspace_id: int,
    owner_id: int,
    plan: str,
    interval: str,
    card: str = "4242424242424242",
):
    start = await start_upgrade(workspace_id=workspace_id, plan=plan, interval=interval)
    env.confirm_card(start, card)
    return start, await complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
        plan=plan,
        interval=interval,
    )


@pytest.mark.parametrize(
    ("plan", "interval", "expected"),
    [("business", "month", 3 * 4900 + 1 * 800), ("business", "year", 3 * 49000 + 1 * 8000)],
)
async def test_upgrade_charges_once_and_mirrors_the_paid_invoice(
    env: Env, plan, interval, expected
):
    workspace_id, owner_id = make_workspace(members=2, numbers=4)
    preview = await preview_upgrade(workspace_id=workspace_id, plan=plan, interval=interval)
    assert preview.amount_due_today_cents == expected

    _, result = await upgrade(env, workspace_id, owner_id, plan, interval)

    assert result.amount_charged_cents == expected
    assert result.status == "active"
    # The toast speaks to the owner (issue 16); the activity log names them.
    assert result.message.startswith("You upgraded to Business")
    overview = await load_overview(workspace_id)
    assert (overview.plan, overview.interval, overview.status) == (plan, interval, "active")
    assert (overview.seats_billed, overview.extra_numbers_billed) == (3, 1)
    assert overview.card_last4 == "4242" and overview.card_brand == "visa"
    assert overview.recurring_cents == expected
    assert not overview.trial.on_trial and not overview.trial.read_only
    [invoice] = overview.latest_invoices
    assert (invoice.status, invoice.total_cents) == ("paid", expected)
    assert invoice.pdf_url and invoice.pdf_url.endswith("/pdf")

    env.settle()
    subs = env.stripe().v1.subscriptions.list({"status": "all"}).data
    assert len(subs) == 1 and subs[0].metadata["workspace_id"] == str(workspace_id)
    with session_scope() as session:
        kinds = [
            a.kind
            for a in session.exec(
                select(BillingActivity).where(BillingActivity.workspace_id == workspace_id)
            )
        ]
        assert kinds.count("upgrade") == 1 and kinds.count("invoice_paid") == 1
        account = session.exec(select(BillingAccount)).one()
        assert account.stripe_test_clock_id  # demo mode: the customer lives on a test clock
        assert session.exec(select(Invoice)).one().status == "paid"


async def test_a_card_declined_in_the_form_never_reaches_the_subscription(env: Env):
    workspace_id, owner_id = make_workspace()
    start = await start_upgrade(workspace_id=workspace_id, plan="startup", interval="month")
    with pytest.raises(stripe.CardError):
        env.confirm_card(start, "4000000000009995")
    with pytest.raises(BillingError, match="not confirmed"):
        await complete_upgrade(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id=start.setup_intent_id,
            plan="startup",
            interval="month",
        )
    assert (await load_overview(workspace_id)).status == "trialing"


async def test_a_declined_first_payment_leaves_the_trial_and_charges_nothing(env: Env):
    workspace_id, owner_id = make_workspace()
    with pytest.raises(CardDeclined, match="Your card was declined"):
        await upgrade(env, workspace_id, owner_id, "startup", "month", card="4000000000000341")

    overview = await load_overview(workspace_id)
    assert overview.status == "trialing" and overview.trial.on_trial and overview.plan is None
    client = env.stripe()
    assert client.v1.subscriptions.list({"status": "all"}).data == []
    assert [i for i in client.v1.invoices.list().data if i.status == "paid"] == []
    env.settle()
    overview = await load_overview(workspace_id)
    assert overview.status == "trialing" and overview.latest_invoices == ()
    with session_scope() as session:
        kinds = [a.kind for a in session.exec(select(BillingActivity))]
        assert kinds == ["upgrade_failed"]


async def test_a_declined_first_payment_leaves_no_card_on_file(env: Env):
    """The refusal changes nothing: the declined card does not become the customer's default
    (at Stripe, nor in the mirror after the customer's webhooks)."""
    workspace_id, owner_id = make_workspace()
    with pytest.raises(CardDeclined):
        await upgrade(env, workspace_id, owner_id, "startup", "month", card="4000000000000341")
    env.settle()

    with session_scope() as session:
        account = repository.get_billing_account(session, workspace_id=workspace_id)
        customer_id = account.stripe_customer_id
    customer = env.stripe().v1.customers.retrieve(customer_id)
    assert customer.invoice_settings.default_payment_method is None
    overview = await load_overview(workspace_id)
    assert (overview.card_brand, overview.card_last4) == (None, None)


async def test_three_d_secure_on_the_card_form_then_upgrade(env: Env):
    workspace_id, owner_id = make_workspace()
    start = await start_upgrade(workspace_id=workspace_id, plan="startup", interval="year")
    confirmed = env.confirm_card(start, "4000002500003155")
    assert confirmed.status == "requires_action"
    with pytest.raises(PaymentRequiresAction):
        await complete_upgrade(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id=start.setup_intent_id,
            plan="startup",
            interval="year",
        )
    env.sandbox.authenticate(start.setup_intent_id)
    result = await complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
        plan="startup",
        interval="year",
    )
    assert (result.status, result.amount_charged_cents) == ("active", 29000)


async def _upgrade_needing_3ds(env: Env):
    workspace_id, owner_id = make_workspace()
    start = await start_upgrade(workspace_id=workspace_id, plan="startup", interval="month")
    assert env.confirm_card(start, "4000002760003184").status == "requires_action"
    env.sandbox.authenticate(start.setup_intent_id)
    with pytest.raises(PaymentRequiresAction) as needed:
        await complete_upgrade(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id=start.setup_intent_id,
            plan="startup",
            interval="month",
        )
    assert needed.value.client_secret and needed.value.subscription_id
    return workspace_id, owner_id, start, needed.value


async def test_a_card_that_needs_3ds_on_every_payment_is_confirmed_in_the_browser(env: Env):
    workspace_id, owner_id, start, needed = await _upgrade_needing_3ds(env)
    # Nothing is charged yet, and the workspace is still on its trial (the incomplete
    # subscription's events included).
    env.settle()
    assert (await load_overview(workspace_id)).status == "trialing"

    env.sandbox.authenticate(needed.client_secret.split("_secret_")[0])  # the bank says yes
    result = await finish_authenticated_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
        subscription_id=needed.subscription_id,
        plan="startup",
        interval="month",
    )

    assert (result.status, result.amount_charged_cents) == ("active", 2900)
    env.settle()
    assert (await load_overview(workspace_id)).status == "active"


async def test_a_failed_3ds_payment_leaves_the_trial_and_charges_nothing(env: Env):
    workspace_id, owner_id, start, needed = await _upgrade_needing_3ds(env)
    env.sandbox.authenticate(needed.client_secret.split("_secret_")[0], outcome="fail")

    with pytest.raises(CardDeclined):
        await finish_authenticated_upgrade(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id=start.setup_intent_id,
            subscription_id=needed.subscription_id,
            plan="startup",
            interval="month",
        )

    env.settle()  # every event delivered and applied, customer.subscription.deleted included
    subscriptions = env.stripe().v1.subscriptions.list({"status": "all"}).data
    assert [sub.status for sub in subscriptions] == ["canceled"]
    charges = env.stripe().v1.charges.list({"customer": subscriptions[0].customer}).data
    assert [charge.status for charge in charges if charge.status == "succeeded"] == []
    assert (await load_overview(workspace_id)).status == "trialing"


async def test_another_workspaces_setup_intent_is_refused(env: Env):
    first, owner = make_workspace(name="First")
    second, _ = make_workspace(name="Second")
    start = await start_upgrade(workspace_id=first, plan="startup", interval="month")
    env.confirm_card(start)
    await start_upgrade(workspace_id=second, plan="startup", interval="month")
    with pytest.raises(BillingError, match="another workspace"):
        await complete_upgrade(
            workspace_id=second,
            actor_user_id=owner,
            setup_intent_id=start.setup_intent_id,
            plan="startup",
            interval="month",
        )


async def test_a_double_click_subscribes_once(env: Env):
    workspace_id, owner_id = make_workspace()
    start = await start_upgrade(workspace_id=workspace_id, plan="startup", interval="month")
    env.confirm_card(start)
    kwargs = dict(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
        plan="startup",
        interval="month",
    )
    results = await asyncio.gather(
        complete_upgrade(**kwargs), complete_upgrade(**kwargs), return_exceptions=True
    )
    assert any(not isinstance(r, Exception) for r in results)
    assert len(env.stripe().v1.subscriptions.list({"status": "all"}).data) == 1
    creates = [
        r
        for r in env.sandbox.requests_log("/v1/subscriptions")
        if r["method"] == "POST" and r["path"] == "/v1/subscriptions"
    ]
    assert sum(1 for r in creates if not r["replayed"]) == 1


async def test_the_billing_page_makes_no_stripe_call_and_updates_live(env: Env):
    workspace_id, owner_id = make_workspace(members=1)
    version = await live.mirror_version(workspace_id)
    waiter = asyncio.create_task(live.wait_for_change(workspace_id, version, timeout=30))
    await upgrade(env, workspace_id, owner_id, "startup", "month")
    changed = await asyncio.wait_for(waiter, 1.0)
    assert changed > version

    env.settle()
    env.sandbox.control("DELETE", "requests")
    overview = await load_overview(workspace_id)
    assert overview.status == "active"
    assert env.sandbox.requests_log() == []


async def test_trial_expiry_makes_the_app_read_only(env: Env):
    from datetime import timedelta

    from clerk_portal.models import utcnow
    from clerk_portal.workspace.trial import get_trial_state

    workspace_id, _ = make_workspace()
    state = await get_trial_state(workspace_id=workspace_id)
    assert (state.days_left, state.expired, state.read_only, state.remind) == (
        14,
        False,
        False,
        False,
    )
    assert state.banner == "Your trial account is active · 14 days left · Upgrade your account"
    soon = await get_trial_state(workspace_id=workspace_id, now=utcnow() + timedelta(days=12))
    assert soon.remind and soon.days_left == 2
    later = await get_trial_state(workspace_id=workspace_id, now=utcnow() + timedelta(days=15))
    assert later.expired and later.read_only and later.days_left == 0
