"""One workspace, one subscription, one charge: tabs at once, crashes, timeouts, abandoned 3-D
Secure, reconcile and forged webhooks (issue 10, bugs 4, 5, 9 and 11)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlmodel import select

from clerk_portal.billing.errors import (
    BillingError,
    CardDeclined,
    OutcomeUnknown,
    PaymentRequiresAction,
    StripeUnavailable,
)
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.reconcile import reconcile
from clerk_portal.billing.services.upgrade import (
    IN_PROGRESS,
    complete_upgrade,
    finish_authenticated_upgrade,
    start_upgrade,
)
from clerk_portal.core.db import session_scope
from clerk_portal.models import BillingAccount, BillingActivity
from tests.support.waiting import eventually_async

from .conftest import Env, make_workspace
from .helpers import activity_kinds, subscribe


def confirmed_start(env: Env, workspace_id: int, card: str = "4242424242424242", **choice):
    """A tab's card form: its own SetupIntent, confirmed in the browser."""

    async def start():
        started = await start_upgrade(
            workspace_id=workspace_id,
            plan=choice.get("plan", "business"),
            interval=choice.get("interval", "month"),
        )
        env.confirm_card(started, card)
        return started

    return start()


def confirm(workspace_id: int, owner_id: int, start, gateway=None, **choice):
    return complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
        plan=choice.get("plan", "business"),
        interval=choice.get("interval", "month"),
        gateway=gateway,
    )


def stripe_subscriptions(env: Env) -> list:
    return env.stripe().v1.subscriptions.list({"status": "all"}).data


def paid_invoices(env: Env) -> list:
    return [i for i in env.stripe().v1.invoices.list().data if i.status == "paid"]


def account_of(workspace_id: int) -> BillingAccount:
    with session_scope() as session:
        account = session.exec(
            select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
        ).one()
        session.expunge(account)
        return account


async def wait_for_stripe_subscription(env: Env) -> None:
    await eventually_async(
        lambda: asyncio.to_thread(stripe_subscriptions, env),
        within=20,
        what="Stripe to create the subscription",
    )


# --- bug 4: concurrent and retried upgrades -----------------------------------------------------


async def test_five_tabs_confirming_at_once_subscribe_and_charge_once(env: Env):
    workspace_id, owner_id = make_workspace(members=2, numbers=4)
    starts = [await confirmed_start(env, workspace_id) for _ in range(5)]

    results = await asyncio.gather(
        *(confirm(workspace_id, owner_id, start) for start in starts), return_exceptions=True
    )

    assert len(stripe_subscriptions(env)) == 1
    assert [i.amount_paid for i in paid_invoices(env)] == [3 * 4900 + 1 * 800]
    succeeded = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert succeeded and all(r.status == "active" for r in succeeded)
    assert all(isinstance(r, BillingError) and r.message == IN_PROGRESS for r in refused)
    env.settle()
    assert (await activity_kinds(workspace_id)).count("upgrade") == 1
    assert (await load_overview(workspace_id)).status == "active"


async def test_a_crash_after_stripe_subscribed_is_adopted_by_the_next_attempt(env: Env):
    env.sandbox.configure_webhooks(url="")  # the retry comes before the webhook lands
    workspace_id, owner_id = make_workspace(members=1)
    first = await confirmed_start(env, workspace_id)
    env.sandbox.add_fault("POST", "/v1/subscriptions", hang_after_seconds=30)
    attempt = asyncio.create_task(confirm(workspace_id, owner_id, first))
    await wait_for_stripe_subscription(env)
    attempt.cancel()  # the portal dies after Stripe subscribed, before the mirror write
    with contextlib.suppress(asyncio.CancelledError):
        await attempt
    assert account_of(workspace_id).stripe_subscription_id is None

    second = await confirmed_start(env, workspace_id)  # the owner tries again
    result = await confirm(workspace_id, owner_id, second)

    [subscription] = stripe_subscriptions(env)
    assert (result.status, result.amount_charged_cents) == ("active", 2 * 4900)
    assert account_of(workspace_id).stripe_subscription_id == subscription.id
    assert len(paid_invoices(env)) == 1
    assert (await activity_kinds(workspace_id)).count("upgrade") == 1


async def test_reconcile_reports_an_extra_live_subscription_and_cancels_it(env: Env):
    workspace_id, _, sub_id = await subscribe(env, plan="startup")
    env.settle()
    account = account_of(workspace_id)
    price = env.stripe().v1.prices.list({"lookup_keys": ["startup_seat_month"]}).data[0]
    extra = env.stripe().v1.subscriptions.create(
        {
            "customer": account.stripe_customer_id,
            "items": [{"price": price.id, "quantity": 1}],
            "default_payment_method": account.stripe_payment_method_id,
        }
    )
    env.settle()

    [drift] = await reconcile()
    assert drift.kind == "extra subscription" and extra.id in drift.detail
    assert "$29.00 paid" in drift.detail and "refund" in drift.detail

    [fixed] = await reconcile(fix=True)
    assert fixed.fixed and extra.id in fixed.detail
    statuses = {s.id: s.status for s in stripe_subscriptions(env)}
    assert statuses == {sub_id: "active", extra.id: "canceled"}
    env.settle()
    assert await reconcile() == []
    assert account_of(workspace_id).stripe_subscription_id == sub_id


# --- bug 5: an unknown outcome is found out before the owner is told anything --------------------


async def test_a_timeout_that_charged_reports_the_charge(env: Env):
    workspace_id, owner_id = make_workspace(members=1)
    start = await confirmed_start(env, workspace_id)
    # Every try (the SDK retries twice) is applied, or replayed, and its answer never arrives.
    env.sandbox.add_fault("POST", "/v1/subscriptions", hang_after_seconds=2, count=3)
    async with env.gateway(timeout=0.5) as gateway:
        result = await confirm(workspace_id, owner_id, start, gateway=gateway)

    assert "nothing was" not in result.message.lower()
    assert (result.status, result.amount_charged_cents) == ("active", 2 * 4900)
    [subscription] = stripe_subscriptions(env)
    assert account_of(workspace_id).stripe_subscription_id == subscription.id
    assert (await load_overview(workspace_id)).status == "active"


async def test_no_answer_yet_says_checking_then_the_same_request_finds_the_charge(env: Env):
    workspace_id, owner_id = make_workspace()
    start = await confirmed_start(env, workspace_id, plan="startup")
    env.sandbox.add_fault("POST", "/v1/subscriptions", hang_seconds=5, count=3)
    async with env.gateway(timeout=0.4) as gateway:
        with pytest.raises(OutcomeUnknown) as unknown:
            await confirm(workspace_id, owner_id, start, gateway=gateway, plan="startup")
    assert unknown.value.message.startswith("Checking with Stripe")
    assert "nothing" not in unknown.value.message.lower()
    other_tab = await confirmed_start(env, workspace_id, plan="startup")
    with pytest.raises(BillingError, match="already in progress"):
        await confirm(workspace_id, owner_id, other_tab, plan="startup")

    await wait_for_stripe_subscription(env)  # the hung request lands at Stripe meanwhile
    env.settle()  # and its webhook reaches the mirror before the page checks again
    result = await confirm(workspace_id, owner_id, start, plan="startup")  # the page checks

    assert (result.status, result.amount_charged_cents) == ("active", 2900)
    assert len(stripe_subscriptions(env)) == 1 and len(paid_invoices(env)) == 1
    assert (await activity_kinds(workspace_id)).count("upgrade") == 1


async def test_only_a_write_without_an_answer_is_an_unknown_outcome(env: Env):
    _, _, sub_id = await subscribe(env, plan="startup")
    env.settle()  # the webhooks' own reads are done: the faults below are this test's
    env.sandbox.add_fault("GET", f"/v1/subscriptions/{sub_id}", status=500, count=3)
    env.sandbox.add_fault("POST", f"/v1/subscriptions/{sub_id}", status=500, count=3)
    async with env.gateway() as gateway:
        with pytest.raises(StripeUnavailable) as read:
            await gateway.retrieve_subscription(sub_id)
        with pytest.raises(OutcomeUnknown) as write:
            await gateway.update_subscription(
                sub_id, {"metadata": {"note": "x"}}, idempotency_key=f"note:{sub_id}"
            )
    assert not isinstance(read.value, OutcomeUnknown)  # a read changes nothing: it may say so
    assert "nothing was" not in write.value.message.lower()


# --- bug 9: abandoned 3-D Secure ---------------------------------------------------------------


async def needs_3ds(env: Env, workspace_id: int, owner_id: int):
    start = await start_upgrade(workspace_id=workspace_id, plan="startup", interval="month")
    assert env.confirm_card(start, "4000002760003184").status == "requires_action"
    env.sandbox.authenticate(start.setup_intent_id)
    with pytest.raises(PaymentRequiresAction) as needed:
        await confirm(workspace_id, owner_id, start, plan="startup")
    return start, needed.value


async def test_an_abandoned_3ds_payment_leaves_no_open_invoice_and_no_false_history(env: Env):
    workspace_id, owner_id = make_workspace()
    start, needed = await needs_3ds(env, workspace_id, owner_id)
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
    env.settle()

    assert [i.status for i in env.stripe().v1.invoices.list().data] == ["void"]
    assert "canceled" not in await activity_kinds(workspace_id)
    assert (await load_overview(workspace_id)).status == "trialing"

    # The owner tries again with a card that works: one subscription is live, one charge.
    again = await confirmed_start(env, workspace_id, plan="startup")
    result = await confirm(workspace_id, owner_id, again, plan="startup")
    assert (result.status, result.amount_charged_cents) == ("active", 2900)
    assert [i.status for i in env.stripe().v1.invoices.list().data].count("open") == 0


async def test_a_closed_3ds_tab_is_cleaned_up_by_the_next_attempt(
    env: Env, monkeypatch: pytest.MonkeyPatch
):
    from clerk_portal.billing.services import upgrade

    monkeypatch.setattr(upgrade, "CLAIM_SECONDS", 0)  # the closed tab's claim has lapsed
    workspace_id, owner_id = make_workspace()
    await needs_3ds(env, workspace_id, owner_id)  # then the tab is closed: no answer ever

    again = await confirmed_start(env, workspace_id, plan="startup")
    result = await confirm(workspace_id, owner_id, again, plan="startup")

    assert result.status == "active"
    statuses = sorted(s.status for s in stripe_subscriptions(env))
    assert statuses == ["active", "canceled"]
    invoices = sorted(i.status for i in env.stripe().v1.invoices.list().data)
    assert invoices == ["paid", "void"]
    env.settle()
    assert "canceled" not in await activity_kinds(workspace_id)


# --- bug 11: a forged customer ------------------------------------------------------------------


async def test_a_signed_event_for_another_customers_subscription_is_not_adopted(env: Env):
    victim, _ = make_workspace(name="Trial Victim")
    stripe = env.stripe()
    stranger = stripe.v1.customers.create({"name": "Stranger"})
    stripe.v1.payment_methods.attach("pm_card_visa", {"customer": stranger.id})
    [card] = stripe.v1.payment_methods.list({"customer": stranger.id}).data
    price = stripe.v1.prices.list({"lookup_keys": ["business_seat_month"]}).data[0]
    stripe.v1.subscriptions.create(
        {
            "customer": stranger.id,
            "items": [{"price": price.id, "quantity": 1}],
            "default_payment_method": card.id,
            "metadata": {"workspace_id": str(victim)},  # claims to be the victim's
        }
    )
    env.settle()  # real signed events, delivered and applied

    account = account_of(victim)
    assert (account.status, account.stripe_subscription_id) == ("trialing", None)
    assert account.stripe_customer_id is None and account.plan is None
    with session_scope() as session:
        rows = session.exec(
            select(BillingActivity).where(BillingActivity.workspace_id == victim)
        ).all()
        assert rows == []
