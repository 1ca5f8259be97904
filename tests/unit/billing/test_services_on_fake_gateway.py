"""The billing services against `FakeGateway`: upgrade, quantities, plan change, cancel and
resume, card change, with exact amounts in cents computed here from the catalog's prices.

The amounts are Stripe's rules, not the fake's output read back: a first invoice bills the period
in advance; a change is prorated per second over the period (credit for the unused old amount,
charge for the remaining new one, each rounded half away from zero). The sandbox tests
(tests/integration/billing) remain the contract with Stripe's HTTP API; these run in a second.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from clerk_portal.billing.catalog import get_catalog
from clerk_portal.billing.errors import CardDeclined, GatewayError, PaymentRequiresAction
from clerk_portal.billing.gateway.fake import FakeGateway
from clerk_portal.billing.services.cancel import cancel_at_period_end, resume
from clerk_portal.billing.services.card import complete_card_update, start_card_update
from clerk_portal.billing.services.plan_change import change_plan, preview_plan_change
from clerk_portal.billing.services.quantities import preview_quantity_change, sync_quantities
from clerk_portal.billing.services.upgrade import complete_upgrade, start_upgrade
from clerk_portal.core.db import session_scope
from clerk_portal.models import BillingAccount, BillingActivity
from clerk_portal.workspace import repository
from tests.integration.billing.conftest import add_members, make_workspace

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
DECLINED = "4000000000009995"
AUTHENTICATE = "4000002760003184"
DAY = 86400
PRICES = {
    (plan.id, kind, interval): plan.price_cents(kind, interval)
    for plan, kind, interval in get_catalog().prices()
}


def prorated(cents: int, left: int, span: int) -> int:
    """Stripe's proration of `cents` for `left` of `span` seconds, rounded half away from 0."""
    sign = -1 if cents < 0 else 1
    return sign * ((2 * abs(cents) * left + span) // (2 * span))


def account(workspace_id: int) -> BillingAccount:
    with session_scope() as session:
        found = repository.get_billing_account(session, workspace_id=workspace_id)
        session.expunge(found)
        return found


def activity(workspace_id: int, kind: str) -> list[BillingActivity]:
    with session_scope() as session:
        rows = session.exec(
            select(BillingActivity).where(
                BillingActivity.workspace_id == workspace_id, BillingActivity.kind == kind
            )
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


async def upgraded(
    fake: FakeGateway,
    *,
    plan: str = "business",
    interval: str = "month",
    members: int = 2,
    numbers: int = 4,
    card: str = VISA,
) -> tuple[int, int]:
    """A workspace upgraded from its trial with `card`; returns (workspace id, owner id)."""
    workspace_id, owner_id = make_workspace(members=members, numbers=numbers)
    start = await start_upgrade(
        workspace_id=workspace_id, plan=plan, interval=interval, gateway=fake
    )
    fake.confirm_setup_intent(start.setup_intent_id, card)
    await complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
        plan=plan,
        interval=interval,
        gateway=fake,
    )
    return workspace_id, owner_id


async def advance(fake: FakeGateway, workspace_id: int, seconds: int) -> tuple[int, int]:
    """Move the workspace's test clock; returns (seconds left in the period, period length)."""
    view = account(workspace_id)
    clock = await fake.retrieve_test_clock(view.stripe_test_clock_id or "")
    moved = await fake.advance_test_clock(
        clock.id, frozen_time=clock.frozen_time + seconds, idempotency_key=f"advance:{seconds}"
    )
    sub = await fake.retrieve_subscription(view.stripe_subscription_id or "")
    assert sub.current_period_start is not None and sub.current_period_end is not None
    span = sub.current_period_end - sub.current_period_start
    return sub.current_period_end - moved.frozen_time, span


# --- upgrade ------------------------------------------------------------------------------------


async def test_upgrade_charges_the_first_period_and_mirrors_the_subscription(fake: FakeGateway):
    workspace_id, owner_id = make_workspace(members=2, numbers=4)
    start = await start_upgrade(
        workspace_id=workspace_id, plan="business", interval="month", gateway=fake
    )
    card = fake.confirm_setup_intent(start.setup_intent_id, VISA)

    result = await complete_upgrade(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=start.setup_intent_id,
        plan="business",
        interval="month",
        gateway=fake,
    )

    expected = 3 * PRICES["business", "seat", "month"] + 1 * PRICES["business", "number", "month"]
    assert (result.status, result.amount_charged_cents) == ("active", expected)
    mirrored = account(workspace_id)
    assert (mirrored.status, mirrored.plan, mirrored.interval) == ("active", "business", "month")
    assert mirrored.stripe_payment_method_id == card.id
    customer = await fake.retrieve_customer(mirrored.stripe_customer_id or "")
    assert customer.default_payment_method == card.id
    [sub] = fake.subscriptions_of(customer.id)
    assert {(i.lookup_key, i.quantity) for i in sub.items} == {
        ("business_seat_month", 3),
        ("business_number_month", 1),
    }
    assert sub.latest_invoice is not None and sub.latest_invoice.amount_paid == expected
    [row] = activity(workspace_id, "upgrade")
    assert row.amount_cents == expected


async def test_a_declined_card_leaves_the_trial_and_nothing_at_stripe(fake: FakeGateway):
    with pytest.raises(CardDeclined, match="insufficient funds"):
        await upgraded(fake, card=DECLINED)

    [workspace_id] = [a.workspace_id for a in _accounts()]
    mirrored = account(workspace_id)
    assert (mirrored.status, mirrored.stripe_subscription_id) == ("trialing", None)
    assert fake.subscriptions_of(mirrored.stripe_customer_id or "") == []
    customer = await fake.retrieve_customer(mirrored.stripe_customer_id or "")
    assert customer.default_payment_method is None  # a declined card does not stay
    assert len(activity(workspace_id, "upgrade_failed")) == 1


def _accounts() -> list[BillingAccount]:
    with session_scope() as session:
        rows = list(session.exec(select(BillingAccount)).all())
        for row in rows:
            session.expunge(row)
        return rows


# --- quantities ---------------------------------------------------------------------------------


async def test_a_seat_added_mid_period_is_previewed_and_synced_for_the_same_proration(
    fake: FakeGateway,
):
    workspace_id, _ = await upgraded(fake)
    left, span = await advance(fake, workspace_id, 10 * DAY)
    seat = PRICES["business", "seat", "month"]

    preview = await preview_quantity_change(workspace_id=workspace_id, seats_delta=1, gateway=fake)

    assert preview.seats == 4
    assert preview.prorated_cents == prorated(4 * seat, left, span) - prorated(3 * seat, left, span)
    assert preview.recurring_cents == 4 * seat + PRICES["business", "number", "month"]

    add_members(workspace_id, 1)
    outcome = await sync_quantities(workspace_id=workspace_id, gateway=fake)

    assert (outcome.changed, outcome.seats) == (True, 4)
    sub = await fake.retrieve_subscription(account(workspace_id).stripe_subscription_id or "")
    assert {i.lookup_key: i.quantity for i in sub.items}["business_seat_month"] == 4
    [row] = activity(workspace_id, "quantities")
    assert row.amount_cents == preview.prorated_cents
    again = await sync_quantities(workspace_id=workspace_id, gateway=fake)
    assert not again.changed and len(activity(workspace_id, "quantities")) == 1


async def test_a_second_change_is_previewed_alone_not_with_the_pending_prorations(
    fake: FakeGateway,
):
    workspace_id, _ = await upgraded(fake)
    add_members(workspace_id, 2)
    await sync_quantities(workspace_id=workspace_id, gateway=fake)  # 3 → 5 seats, pending
    left, span = await advance(fake, workspace_id, 5 * DAY)
    seat = PRICES["business", "seat", "month"]

    preview = await preview_quantity_change(workspace_id=workspace_id, seats_delta=1, gateway=fake)

    assert preview.prorated_cents == prorated(6 * seat, left, span) - prorated(5 * seat, left, span)


async def test_numbers_within_the_plan_change_nothing_at_stripe(fake: FakeGateway):
    workspace_id, _ = await upgraded(fake, numbers=2)  # business includes 3
    calls = len(fake.calls)

    preview = await preview_quantity_change(
        workspace_id=workspace_id, numbers_delta=1, gateway=fake
    )

    assert (preview.included, preview.prorated_cents) == (True, 0)
    assert "preview_invoice" not in fake.calls[calls:]


# --- plan change --------------------------------------------------------------------------------


async def test_a_plan_upgrade_charges_exactly_the_reviewed_proration_once(fake: FakeGateway):
    workspace_id, owner_id = await upgraded(fake, plan="startup", members=1, numbers=2)
    left, span = await advance(fake, workspace_id, 12 * DAY)
    startup_seat, startup_number = (
        PRICES["startup", "seat", "month"],
        PRICES["startup", "number", "month"],
    )
    business_seat = PRICES["business", "seat", "month"]
    # Startup bills 2 seats and 1 extra number; Business includes 3 numbers: 2 seats only.
    expected = (
        prorated(2 * business_seat, left, span)
        - prorated(2 * startup_seat, left, span)
        - prorated(1 * startup_number, left, span)
    )

    preview = await preview_plan_change(
        workspace_id=workspace_id, plan="business", interval="month", gateway=fake
    )
    assert (preview.direction, preview.amount_due_now_cents) == ("upgrade", expected)
    assert preview.new_recurring_cents == 2 * business_seat

    result = await change_plan(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        plan="business",
        interval="month",
        review=preview.review,
        gateway=fake,
    )
    assert result.amount_charged_cents == expected
    assert (account(workspace_id).plan, account(workspace_id).interval) == ("business", "month")
    sub = await fake.retrieve_subscription(account(workspace_id).stripe_subscription_id or "")
    assert sub.latest_invoice is not None
    assert (sub.latest_invoice.billing_reason, sub.latest_invoice.amount_paid) == (
        "subscription_update",
        expected,
    )
    assert {i.lookup_key: i.quantity for i in sub.items} == {
        "business_seat_month": 2,
        "business_number_month": 0,
    }

    # The same review confirmed in a second tab: nothing more is charged or recorded.
    twice = await change_plan(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        plan="business",
        interval="month",
        review=preview.review,
        gateway=fake,
    )
    assert (twice.direction, twice.amount_charged_cents) == ("none", 0)
    [row] = activity(workspace_id, "plan_upgrade")
    assert row.amount_cents == expected
    invoices = await fake.list_invoices(sub.customer)
    assert [i.billing_reason for i in invoices] == ["subscription_update", "subscription_create"]


# --- cancel and resume --------------------------------------------------------------------------


async def test_cancel_at_period_end_then_resume(fake: FakeGateway):
    workspace_id, owner_id = await upgraded(fake)
    subscription_id = account(workspace_id).stripe_subscription_id or ""

    first = await cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner_id, reason="too_expensive", gateway=fake
    )
    again = await cancel_at_period_end(
        workspace_id=workspace_id, actor_user_id=owner_id, reason="too_expensive", gateway=fake
    )

    assert not first.already_scheduled and again.already_scheduled
    sub = await fake.retrieve_subscription(subscription_id)
    assert (sub.cancel_at_period_end, sub.cancellation_feedback) == (True, "too_expensive")
    mirrored = account(workspace_id)
    assert (mirrored.cancel_at_period_end, mirrored.cancel_reason) == (True, "too_expensive")
    assert len(activity(workspace_id, "cancel_scheduled")) == 1

    await resume(workspace_id=workspace_id, actor_user_id=owner_id, gateway=fake)

    assert not (await fake.retrieve_subscription(subscription_id)).cancel_at_period_end
    mirrored = account(workspace_id)
    assert (mirrored.cancel_at_period_end, mirrored.cancel_reason, mirrored.status) == (
        False,
        None,
        "active",
    )
    assert len(activity(workspace_id, "resumed")) == 1


# --- card change --------------------------------------------------------------------------------


async def test_a_new_card_becomes_the_default_everywhere_and_the_old_one_is_detached(
    fake: FakeGateway,
):
    workspace_id, owner_id = await upgraded(fake)
    before = account(workspace_id)
    old_card = before.stripe_payment_method_id or ""

    setup = await start_card_update(workspace_id=workspace_id, gateway=fake)
    new = fake.confirm_setup_intent(setup.setup_intent_id, MASTERCARD)
    card = await complete_card_update(
        workspace_id=workspace_id,
        actor_user_id=owner_id,
        setup_intent_id=setup.setup_intent_id,
        gateway=fake,
    )

    assert (card.id, card.brand, card.last4) == (new.id, "mastercard", "4444")
    customer = await fake.retrieve_customer(before.stripe_customer_id or "")
    sub = await fake.retrieve_subscription(before.stripe_subscription_id or "")
    assert customer.default_payment_method == sub.default_payment_method == new.id
    assert (await fake.retrieve_payment_method(old_card)).customer is None
    after = account(workspace_id)
    assert (after.stripe_payment_method_id, after.card_brand) == (new.id, "mastercard")
    assert len(activity(workspace_id, "card_updated")) == 1


async def test_a_card_that_needs_3d_secure_opens_an_incomplete_subscription_to_confirm(
    fake: FakeGateway,
):
    with pytest.raises(PaymentRequiresAction) as needed:
        await upgraded(fake, card=AUTHENTICATE)

    assert needed.value.client_secret and needed.value.subscription_id
    sub = await fake.retrieve_subscription(needed.value.subscription_id)
    assert sub.status == "incomplete"
    assert sub.latest_invoice is not None and sub.latest_invoice.amount_paid == 0
    [workspace_id] = [a.workspace_id for a in _accounts()]
    assert account(workspace_id).status == "trialing"  # nothing is mirrored until it is paid


# --- the fake's own rules -----------------------------------------------------------------------


async def test_the_fake_replays_a_used_key_and_refuses_it_with_other_parameters(
    fake: FakeGateway,
):
    first = await fake.create_customer(name="A", email=None, metadata={}, idempotency_key="k")
    again = await fake.create_customer(name="A", email=None, metadata={}, idempotency_key="k")
    assert again == first
    with pytest.raises(GatewayError, match="same parameters"):
        await fake.create_customer(name="B", email=None, metadata={}, idempotency_key="k")


async def test_what_the_fake_does_not_model_is_refused_not_imitated(fake: FakeGateway):
    workspace_id, _ = await upgraded(fake)
    with pytest.raises(NotImplementedError, match="renewals"):
        await advance(fake, workspace_id, 40 * DAY)
    with pytest.raises(NotImplementedError, match="subscription parameters"):
        await fake.update_subscription(
            account(workspace_id).stripe_subscription_id or "",
            {"coupon": "HALF"},
            idempotency_key="coupon",
        )
