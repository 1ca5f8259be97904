"""Invoiced (enterprise) customers (issue 14), against the sandbox over HTTP through the official
SDK, with real signed webhooks: the invoicing service subscribes a workspace with
`collection_method=send_invoice`, its open invoice carries a due date, it goes past due when the
test clock passes the due date unpaid, and a bank transfer (paid out of band) makes it paid and
the subscription active again. The demo scenario (issue 15) reaches the same state through the
same service.

Stripe's contract:
- https://docs.stripe.com/billing/collection-method ("send_invoice": Stripe emails the invoice,
  the customer pays by the due date; no automatic charge; `days_until_due` is required)
- https://docs.stripe.com/api/invoices/object#invoice_object-due_date
- https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses ("past_due" once a
  send_invoice invoice is overdue) and the `invoice.overdue` event
  (https://docs.stripe.com/api/events/types#event_types-invoice.overdue)
- https://docs.stripe.com/api/invoices/pay (`paid_out_of_band=true`: paid outside Stripe)
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlmodel import col, select

from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.read_models.invoices import load_invoice_page
from clerk_portal.billing.read_models.overview import load_overview
from clerk_portal.billing.services import invoiced, upgrade
from clerk_portal.core import formats
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import InvalidValue
from clerk_portal.demo import scenarios
from clerk_portal.demo.clock import advance_demo_clock
from clerk_portal.demo.status import demo_status
from clerk_portal.models import BillingActivity, Invoice
from clerk_portal.workspace import repository
from tests.support.waiting import eventually_async

from .conftest import Env, make_workspace
from .helpers import billing_account as _account
from .helpers import seeded_demo as _seeded


def _invoices(workspace_id: int) -> list[Invoice]:
    with session_scope() as session:
        rows = list(
            session.exec(
                select(Invoice)
                .where(col(Invoice.workspace_id) == workspace_id)
                .order_by(col(Invoice.id))
            ).all()
        )
        session.expunge_all()
        return rows


def _activities(workspace_id: int, kind: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.exec(
                select(BillingActivity.summary).where(
                    BillingActivity.workspace_id == workspace_id, BillingActivity.kind == kind
                )
            ).all()
        )


async def _start(workspace_id: int, days: int = 30) -> invoiced.InvoicedResult:
    return await invoiced.start_invoiced_billing(
        workspace_id=workspace_id,
        actor_user_id=None,
        plan="business",
        interval="month",
        days_until_due=days,
    )


async def test_an_invoiced_customer_gets_an_open_invoice_due_in_30_days(env: Env):
    workspace_id = _seeded()
    result = await _start(workspace_id)
    env.settle()

    account = _account(workspace_id)
    assert account.status == "active"  # send_invoice: active at once, nothing charged
    assert (account.collection_method, account.days_until_due) == ("send_invoice", 30)
    assert account.card_last4 is None
    sub = env.stripe().v1.subscriptions.retrieve(account.stripe_subscription_id)
    assert (sub.collection_method, sub.days_until_due) == ("send_invoice", 30)

    (invoice,) = _invoices(workspace_id)
    stripe_invoice = env.stripe().v1.invoices.retrieve(invoice.stripe_invoice_id)
    assert stripe_invoice.status == "open" and stripe_invoice.amount_paid == 0
    assert stripe_invoice.due_date == stripe_invoice.status_transitions.finalized_at + 30 * 86400
    assert (invoice.status, invoice.collection_method, invoice.overdue) == (
        "open",
        "send_invoice",
        False,
    )
    assert invoice.due_date is not None
    assert int(invoice.due_date.timestamp()) == stripe_invoice.due_date
    due = f"Due {formats.day(invoice.due_date)}"
    assert result.due_date == invoice.due_date and result.invoice_number == invoice.number
    assert due.removeprefix("Due ") in result.message

    overview = await load_overview(workspace_id)
    assert overview.invoiced and overview.days_until_due == 30
    assert not overview.past_due and overview.banner is None
    (row,) = overview.latest_invoices
    assert row.due_note == due and row.invoiced and not row.payable  # no card to pay with
    (listed,) = (await load_invoice_page(workspace_id, limit=10)).items
    assert listed.invoiced and listed.due_date == invoice.due_date
    assert _activities(workspace_id, "invoiced_billing") == [
        "Clerk Chat started invoiced billing on Business (monthly), invoices due in 30 days"
    ]


async def test_past_the_due_date_unpaid_it_is_past_due_until_the_bank_transfer(env: Env):
    workspace_id = _seeded()
    await _start(workspace_id)
    env.settle()
    (invoice,) = _invoices(workspace_id)
    assert invoice.due_date is not None

    # A day before the due date nothing is owed late; a day after, Stripe says overdue.
    await advance_demo_clock(workspace_id=workspace_id, days=29)
    env.settle()
    assert _account(workspace_id).status == "active"
    assert not _invoices(workspace_id)[0].overdue
    await advance_demo_clock(workspace_id=workspace_id, days=2)
    env.settle()

    account = _account(workspace_id)
    assert account.status == "past_due"
    overdue = next(i for i in _invoices(workspace_id) if i.id == invoice.id)
    assert (overdue.status, overdue.overdue) == ("open", True)
    overview = await load_overview(workspace_id)
    assert overview.past_due and overview.open_invoice is not None
    assert overview.open_invoice.stripe_invoice_id == invoice.stripe_invoice_id
    assert overview.banner == (
        f"Your invoice is overdue (it was due {formats.day(invoice.due_date)}). "
        "Please pay it by bank transfer."
    )
    assert _activities(workspace_id, "invoice_overdue") == [
        f"Invoice {invoice.number} is overdue (was due {formats.day(invoice.due_date)})"
    ]
    assert "overdue" in (await demo_status(workspace_id)).status

    outcome = await scenarios.run_scenario("mark_paid")
    env.settle()
    assert invoice.number in outcome.message
    assert _account(workspace_id).status == "active"
    paid = next(i for i in _invoices(workspace_id) if i.id == invoice.id)
    assert paid.status == "paid"
    stripe_invoice = env.stripe().v1.invoices.retrieve(invoice.stripe_invoice_id)
    assert stripe_invoice.status == "paid" and stripe_invoice.amount_remaining == 0
    assert not (await load_overview(workspace_id)).past_due


async def test_asking_twice_changes_nothing_the_second_time(env: Env):
    workspace_id = _seeded()
    await _start(workspace_id)
    env.settle()
    before = _account(workspace_id)
    again = await _start(workspace_id)
    env.settle()

    assert "Already billed by invoice" in again.message
    after = _account(workspace_id)
    assert after.stripe_subscription_id == before.stripe_subscription_id
    customer = after.stripe_customer_id
    assert len(env.stripe().v1.subscriptions.list({"customer": customer}).data) == 1
    assert len(_invoices(workspace_id)) == 1
    assert len(_activities(workspace_id, "invoiced_billing")) == 1


async def test_a_card_customer_switches_to_invoices_and_is_not_charged_at_renewal(env: Env):
    workspace_id = _seeded()
    await scenarios.run_scenario("subscribed")
    env.settle()
    subscribed = _account(workspace_id)
    assert subscribed.collection_method == "charge_automatically"

    result = await _start(workspace_id, days=14)
    env.settle()
    account = _account(workspace_id)
    assert account.stripe_subscription_id == subscribed.stripe_subscription_id
    assert (account.collection_method, account.days_until_due) == ("send_invoice", 14)
    assert result.days_until_due == 14 and "14 days" in result.message

    await scenarios.run_scenario("advance_to_renewal")
    env.settle()
    renewal = _invoices(workspace_id)[-1]
    assert renewal.billing_reason == "subscription_cycle"
    assert (renewal.status, renewal.collection_method, renewal.amount_paid_cents) == (
        "open",
        "send_invoice",
        0,
    )
    assert renewal.due_date is not None and renewal.created is not None
    assert renewal.due_date - renewal.created >= timedelta(days=14)
    assert _account(workspace_id).status == "active"


@pytest.mark.parametrize("days", [0, -1, 366, 2.5, "30", True])
async def test_a_bad_payment_term_is_refused_and_nothing_changes(env: Env, days):
    workspace_id = _seeded()
    before = _account(workspace_id)
    with pytest.raises(InvalidValue, match="payment term"):
        await _start(workspace_id, days=days)
    after = _account(workspace_id)
    assert (after.stripe_customer_id, after.mirror_version) == (None, before.mirror_version)


async def test_an_enterprise_plan_is_refused_for_self_serve_invoicing(env: Env):
    workspace_id = _seeded()
    with pytest.raises(BillingError, match="sales team"):
        await invoiced.start_invoiced_billing(
            workspace_id=workspace_id, actor_user_id=None, plan="enterprise", interval="month"
        )
    assert _account(workspace_id).stripe_customer_id is None


async def test_the_demo_scenario_is_an_invoiced_customer_and_its_steps_refuse_out_of_turn(
    env: Env,
):
    workspace_id = _seeded()
    with pytest.raises(BillingError, match="no invoice waiting"):
        await scenarios.run_scenario("mark_paid")
    outcome = await scenarios.run_scenario("invoiced")
    env.settle()
    (invoice,) = _invoices(workspace_id)
    assert invoice.due_date is not None
    assert f"due {formats.day(invoice.due_date)}" in outcome.message
    assert "Invoiced customer" in (await demo_status(workspace_id)).status

    await scenarios.run_scenario("advance_past_due_date")
    env.settle()
    assert _account(workspace_id).status == "past_due"
    with pytest.raises(BillingError, match="overdue already"):
        await scenarios.run_scenario("advance_past_due_date")
    await scenarios.run_scenario("mark_paid")
    env.settle()
    assert _account(workspace_id).status == "active"
    with pytest.raises(BillingError, match="no invoice waiting"):
        await scenarios.run_scenario("mark_paid")


async def test_a_team_over_the_plans_limit_is_refused_and_nothing_is_created(env: Env):
    workspace_id, owner = make_workspace(members=11)  # 12 seats: Startup allows 10
    with pytest.raises(BillingError, match="Startup allows up to 10 seats"):
        await invoiced.start_invoiced_billing(
            workspace_id=workspace_id, actor_user_id=owner, plan="startup", interval="month"
        )
    assert _account(workspace_id).stripe_customer_id is None


async def test_advancing_past_a_due_date_without_an_open_invoice_is_refused(env: Env):
    _seeded()
    await scenarios.run_scenario("subscribed")  # a card customer: nothing waits for a transfer
    with pytest.raises(BillingError, match="no invoice waiting for a bank transfer"):
        await scenarios.run_scenario("advance_past_due_date")


async def test_a_late_overdue_event_for_a_paid_invoice_changes_nothing(env: Env):
    """Events arrive out of order: `invoice.overdue` re-read after the transfer finds it paid."""
    from clerk_portal.billing.webhooks import handlers

    workspace_id = _seeded()
    await _start(workspace_id)
    env.settle()
    (invoice,) = _invoices(workspace_id)
    await scenarios.run_scenario("mark_paid")
    env.settle()
    paid = await env.gateway().retrieve_invoice(invoice.stripe_invoice_id)
    before = _account(workspace_id).mirror_version
    with session_scope() as session:
        account = repository.get_billing_account(session, workspace_id=workspace_id)
        handlers.invoice_overdue(session, account, paid)
    assert not _invoices(workspace_id)[0].overdue
    assert _account(workspace_id).mirror_version == before
    assert _activities(workspace_id, "invoice_overdue") == []


# --- one upgrade at a time: invoiced billing and a card upgrade in another tab -----------------
# Stripe would keep both subscriptions (https://docs.stripe.com/api/subscriptions/create makes a
# new one per request with a new idempotency key): the portal's one upgrade claim excludes them.


async def _card_upgrade(env: Env, workspace_id: int, owner_id: int | None):
    started = await upgrade.start_upgrade(
        workspace_id=workspace_id, plan="business", interval="month"
    )
    env.confirm_card(started)
    return upgrade.complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=started.setup_intent_id,
        plan="business",
        interval="month",
    )


def _subscriptions(env: Env) -> list:
    return env.stripe().v1.subscriptions.list({"status": "all"}).data


def _claimed(workspace_id: int) -> bool:
    return _account(workspace_id).upgrade_claim is not None


async def test_invoiced_start_while_a_card_upgrade_is_with_stripe_is_refused(env: Env):
    workspace_id = _seeded()
    card = await _card_upgrade(env, workspace_id, None)
    env.sandbox.add_fault("POST", "/v1/subscriptions", hang_seconds=3)
    card_task = asyncio.create_task(card)
    await eventually_async(lambda: _claimed(workspace_id), what="the upgrade claim")

    with pytest.raises(BillingError) as refused:
        await _start(workspace_id)
    carded = await card_task

    assert refused.value.message == upgrade.IN_PROGRESS
    assert [s.collection_method for s in _subscriptions(env)] == ["charge_automatically"]
    assert carded.status == "active"
    assert not _claimed(workspace_id)


async def test_a_card_upgrade_while_invoiced_billing_starts_charges_nothing(env: Env):
    workspace_id = _seeded()
    card = await _card_upgrade(env, workspace_id, None)
    env.sandbox.add_fault("POST", "/v1/subscriptions", hang_seconds=3)
    invoiced_task = asyncio.create_task(_start(workspace_id))
    await eventually_async(lambda: _claimed(workspace_id), what="the upgrade claim")

    with pytest.raises(BillingError) as refused:
        await card
    result = await invoiced_task

    assert refused.value.message == upgrade.IN_PROGRESS
    assert [s.collection_method for s in _subscriptions(env)] == ["send_invoice"]
    assert [i.amount_paid for i in env.stripe().v1.invoices.list().data] == [0]
    assert result.status == "active" and not _claimed(workspace_id)
    # The next start replays (same terms): nothing new at Stripe, the claim is free again.
    again = await _start(workspace_id)
    assert again.message.startswith("Already billed by invoice")
    assert len(_subscriptions(env)) == 1


async def test_invoiced_start_finding_a_live_subscription_at_stripe_refuses_and_frees_the_claim(
    env: Env,
):
    # A card upgrade subscribed at Stripe and died before the mirror knew (no webhook yet).
    env.sandbox.configure_webhooks(url="")
    workspace_id = _seeded()
    card = await _card_upgrade(env, workspace_id, None)
    env.sandbox.add_fault("POST", "/v1/subscriptions", hang_after_seconds=30)
    card_task = asyncio.create_task(card)
    await eventually_async(lambda: asyncio.to_thread(_subscriptions, env), what="a subscription")
    card_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await card_task
    with session_scope() as session:  # its claim has lapsed
        account = repository.get_billing_account(session, workspace_id=workspace_id)
        account.upgrade_claimed_at = account.upgrade_claimed_at - timedelta(hours=1)
        session.add(account)

    with pytest.raises(BillingError) as refused:
        await _start(workspace_id)

    assert "already has a subscription" in refused.value.message
    assert [s.collection_method for s in _subscriptions(env)] == ["charge_automatically"]
    assert not _claimed(workspace_id)
