"""Subscriptions with several items: creation, payment behaviours, updates, prorations, preview."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.support.sandbox import PUBLISHABLE_KEY, SandboxProcess

from .helpers import DAY, NOV_1_2026, event_types, item_for, make_customer, two_items

HALF = NOV_1_2026 + 15 * DAY  # exactly halfway through 2026-11-01 .. 2026-12-01 (30 days)


def _subscribe(
    client: stripe.StripeClient, customer: Any, catalog: dict[str, Any], **extra: Any
) -> Any:
    params = {"customer": customer.id, "items": two_items(catalog), "expand": ["latest_invoice"]}
    return client.v1.subscriptions.create({**params, **extra})


def test_two_item_subscription_is_paid_at_once(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    assert sub.status == "active" and len(sub["items"].data) == 2
    seat = item_for(sub, catalog["seat_month"].id)
    assert seat.quantity == 3
    assert (seat.current_period_start, seat.current_period_end) == (
        NOV_1_2026,
        NOV_1_2026 + 30 * DAY,
    )
    invoice = sub.latest_invoice
    assert invoice.status == "paid" and invoice.amount_paid == 3 * 2900 + 2 * 1000
    assert invoice.billing_reason == "subscription_create"
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.number == f"{customer.invoice_prefix}-0001"
    assert [line.description for line in invoice.lines.data] == [
        "3 × Seat (at $29.00 / month)",
        "2 × Number (at $10.00 / month)",
    ]
    assert invoice.lines.data[0].pricing.price_details.price == catalog["seat_month"].id
    assert invoice.lines.data[0].period.end == NOV_1_2026 + 30 * DAY
    types = event_types(client)
    assert types.index("customer.subscription.created") < types.index("invoice.paid")
    listed = client.v1.subscriptions.list({"customer": customer.id})
    assert [s.id for s in listed.data] == [sub.id]
    items = client.v1.subscription_items.list({"subscription": sub.id})
    assert [i.id for i in items.data] == [i.id for i in sub["items"].data]


def test_trial_creates_zero_invoice(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock, card=None)
    sub = _subscribe(client, customer, catalog, trial_period_days=14)
    assert sub.status == "trialing"
    assert sub.trial_end == NOV_1_2026 + 14 * DAY
    assert sub.latest_invoice.amount_due == 0 and sub.latest_invoice.status == "paid"
    assert sub.latest_invoice.lines.data[0].description == "Trial period for Seat"


def test_error_if_incomplete_leaves_nothing(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock, card="pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as caught:
        _subscribe(client, customer, catalog, payment_behavior="error_if_incomplete")
    assert caught.value.code == "card_declined"
    assert client.v1.subscriptions.list({"customer": customer.id, "status": "all"}).data == []
    assert client.v1.invoices.list({"customer": customer.id}).data == []
    assert "customer.subscription.created" not in event_types(client)


def test_allow_incomplete_is_incomplete(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock, card="pm_card_chargeCustomerFail")
    sub = _subscribe(client, customer, catalog)
    assert sub.status == "incomplete"
    assert sub.latest_invoice.status == "open" and sub.latest_invoice.attempt_count == 1
    # after 23 hours without payment the subscription expires
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": NOV_1_2026 + DAY})
    assert client.v1.subscriptions.retrieve(sub.id).status == "incomplete_expired"
    assert client.v1.invoices.retrieve(sub.latest_invoice.id).status == "void"


def test_default_incomplete_with_3ds_card_then_authenticate(
    sb: SandboxProcess, client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock, card="pm_card_authenticationRequired")
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": two_items(catalog),
            "payment_behavior": "default_incomplete",
            "expand": ["latest_invoice.payments", "latest_invoice.confirmation_secret"],
        }
    )
    assert sub.status == "incomplete"
    invoice = sub.latest_invoice
    assert invoice.confirmation_secret.client_secret
    pi_id = invoice.payments.data[0].payment.payment_intent
    intent = client.v1.payment_intents.retrieve(pi_id)
    assert intent.status == "requires_action" and intent.next_action.type == "use_stripe_sdk"
    sb.authenticate(pi_id, "complete")
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"
    assert client.v1.invoices.retrieve(invoice.id).status == "paid"


def test_allow_incomplete_with_3ds_card(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock, card="pm_card_authenticationRequired")
    sub = _subscribe(client, customer, catalog)
    assert sub.status == "incomplete"
    invoice = client.v1.invoices.retrieve(sub.latest_invoice.id, {"expand": ["payments"]})
    intent = client.v1.payment_intents.retrieve(invoice.payments.data[0].payment.payment_intent)
    assert intent.status == "requires_action"


@pytest.mark.parametrize("behaviour", ["always_invoice", "create_prorations"])
def test_halfway_seat_change_prorates_1450_and_preview_agrees(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, behaviour: str
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    seat = item_for(sub, catalog["seat_month"].id)
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": HALF})
    change = {"items": [{"id": seat.id, "quantity": 4}], "proration_behavior": behaviour}
    preview = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": change}
    )
    prorations = [
        line for line in preview.lines.data if line.parent.subscription_item_details.proration
    ]
    assert [line.amount for line in prorations] == [-4350, 5800]
    assert prorations[0].description == "Unused time on 3 × Seat after 16 Nov 2026"
    assert prorations[1].description == "Remaining time on 4 × Seat after 16 Nov 2026"
    assert abs(sum(line.amount for line in prorations) - 1450) <= 1
    updated = client.v1.subscriptions.update(sub.id, {**change, "expand": ["latest_invoice"]})
    assert item_for(updated, catalog["seat_month"].id).quantity == 4
    if behaviour == "always_invoice":
        invoice = updated.latest_invoice
        assert invoice.billing_reason == "subscription_update" and invoice.status == "paid"
    else:
        assert updated.latest_invoice.id == sub.latest_invoice.id  # nothing invoiced yet
        pending = client.v1.invoice_items.list({"customer": customer.id, "pending": True}).data
        assert sorted(ii.amount for ii in pending) == [-4350, 5800]
        client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": NOV_1_2026 + 30 * DAY})
        invoice = client.v1.invoices.retrieve(
            client.v1.subscriptions.retrieve(sub.id).latest_invoice
        )
        assert invoice.billing_reason == "subscription_cycle"
        assert invoice.amount_due == 1450 + 4 * 2900 + 2 * 1000
    assert invoice.amount_due == preview.amount_due
    assert invoice.total == preview.total
    assert [(li.description, li.amount) for li in invoice.lines.data] == [
        (li.description, li.amount) for li in preview.lines.data
    ]


def test_quantity_zero_price_swap_and_none(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    number = item_for(sub, catalog["number_month"].id)
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": HALF})
    updated = client.v1.subscriptions.update(
        sub.id, {"items": [{"id": number.id, "quantity": 0}], "proration_behavior": "none"}
    )
    assert item_for(updated, catalog["number_month"].id).quantity == 0
    assert client.v1.invoice_items.list({"customer": customer.id}).data == []
    business = client.v1.prices.create(
        {
            "product": catalog["seat_month"].product,
            "unit_amount": 4900,
            "currency": "usd",
            "recurring": {"interval": "month"},
        }
    )
    seat = item_for(sub, catalog["seat_month"].id)
    swapped = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": seat.id, "price": business.id}],
            "proration_behavior": "always_invoice",
            "proration_date": HALF,
            "expand": ["latest_invoice"],
        },
    )
    assert item_for(swapped, business.id).quantity == 3
    amounts = [line.amount for line in swapped.latest_invoice.lines.data]
    assert amounts == [-4350, 7350]  # 3 × $29 and 3 × $49 for half a month


def test_interval_change_resets_the_cycle(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    seat, number = (
        item_for(sub, catalog["seat_month"].id),
        item_for(sub, catalog["number_month"].id),
    )
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": HALF})
    change = {
        "items": [
            {"id": seat.id, "price": catalog["seat_year"].id},
            {"id": number.id, "price": catalog["number_year"].id},
        ]
    }
    preview = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": change}
    )
    updated = client.v1.subscriptions.update(sub.id, {**change, "expand": ["latest_invoice"]})
    assert updated.billing_cycle_anchor == HALF
    item = item_for(updated, catalog["seat_year"].id)
    assert item.current_period_end - item.current_period_start == 365 * DAY
    invoice = updated.latest_invoice
    assert invoice.amount_due == 3 * 29000 + 2 * 10000 - 4350 - 1000
    assert invoice.amount_due == preview.amount_due


def test_a_trial_on_a_paid_subscription_moves_the_cycle_without_an_invoice(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    """Stripe's way to move a billing cycle: a trial until the new date, with no proration;
    a yearly → monthly swap made with it bills nothing until the trial ends."""
    customer = make_customer(client, clock)
    sub = _subscribe(
        client,
        customer,
        catalog,
        items=[{"price": catalog["seat_year"].id, "quantity": 3}],
    )
    seat = item_for(sub, catalog["seat_year"].id)
    end = seat.current_period_end
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": seat.id, "price": catalog["seat_month"].id}],
            "proration_behavior": "none",
            "trial_end": end,
        },
    )
    assert (updated.status, updated.trial_end, updated.latest_invoice) == (
        "trialing",
        end,
        sub.latest_invoice.id,
    )
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": end + DAY})
    renewed = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert renewed.status == "active" and renewed.billing_cycle_anchor == end
    invoices = client.v1.invoices.list({"customer": customer.id}).data
    assert sorted(i.amount_paid for i in invoices) == [3 * 2900, 3 * 29000]
    assert renewed.latest_invoice.lines.data[0].period.start == end


def test_a_cancellation_at_period_end_follows_a_reset_cycle(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    """cancel_at_period_end means the end of the current period, whatever it becomes (unlike a
    cancel_at timestamp): after monthly → yearly the subscription ends with the paid year."""
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": HALF})
    seat, number = (
        item_for(sub, catalog["seat_month"].id),
        item_for(sub, catalog["number_month"].id),
    )
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [
                {"id": seat.id, "price": catalog["seat_year"].id},
                {"id": number.id, "price": catalog["number_year"].id},
            ]
        },
    )
    year_end = item_for(updated, catalog["seat_year"].id).current_period_end
    assert updated.cancel_at_period_end and updated.cancel_at == year_end
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": HALF + 60 * DAY})
    assert client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_billing_cycle_anchor_now(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": HALF})
    # the object form since 2026-09-30.endive (the pinned SDK's version is later):
    # https://docs.stripe.com/changelog/endive/2026-09-30/polymorphic-billing-cycle-anchor
    updated = client.v1.subscriptions.update(
        sub.id,
        {
            "billing_cycle_anchor": {"type": "now"},
            "proration_behavior": "none",
            "expand": ["latest_invoice"],
        },
    )
    assert updated.billing_cycle_anchor == HALF
    assert updated.latest_invoice.amount_due == 3 * 2900 + 2 * 1000


def test_billing_cycle_anchor_unchanged_keeps_the_cycle(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    updated = client.v1.subscriptions.update(
        sub.id, {"billing_cycle_anchor": {"type": "unchanged"}, "metadata": {"a": "1"}}
    )
    assert updated.billing_cycle_anchor == sub.billing_cycle_anchor


# https://docs.stripe.com/changelog/endive/2026-09-30/polymorphic-billing-cycle-anchor : the
# string form is replaced by the object in this version; older versions keep the string.
def test_the_string_billing_cycle_anchor_is_refused_in_the_pinned_version_only(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, {"billing_cycle_anchor": "now"})  # type: ignore[typeddict-item]
    assert refused.value.param == "billing_cycle_anchor"
    assert "billing_cycle_anchor[type]" in str(refused.value.user_message)
    assert client.v1.subscriptions.retrieve(sub.id).billing_cycle_anchor == NOV_1_2026
    older = client.v1.subscriptions.update(
        sub.id,
        {"billing_cycle_anchor": "now", "proration_behavior": "none"},  # type: ignore[typeddict-item]
        {"stripe_version": "2025-09-30.clover"},
    )
    assert older.billing_cycle_anchor == NOV_1_2026  # the clock has not moved: now is the start


@pytest.mark.parametrize(
    ("anchor", "param"),
    [
        ({"type": "later"}, "billing_cycle_anchor[type]"),
        ({"kind": "now"}, "billing_cycle_anchor[kind]"),
        ({"type": "now", "timestamp": NOV_1_2026}, "billing_cycle_anchor[timestamp]"),
    ],
)
def test_a_bad_billing_cycle_anchor_is_refused(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, anchor: Any, param: str
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.update(sub.id, {"billing_cycle_anchor": anchor})
    assert refused.value.param == param


def test_cancel_at_period_end_and_cancel_now(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    scheduled = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert scheduled.cancel_at_period_end and scheduled.cancel_at == NOV_1_2026 + 30 * DAY
    resumed = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False})
    assert resumed.cancel_at is None
    client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": NOV_1_2026 + 31 * DAY})
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.ended_at == NOV_1_2026 + 30 * DAY
    assert len(client.v1.invoices.list({"subscription": sub.id}).data) == 1
    other = _subscribe(client, customer, catalog)
    canceled = client.v1.subscriptions.cancel(other.id)
    assert canceled.status == "canceled"
    assert "customer.subscription.deleted" in event_types(client)
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []
    assert len(client.v1.subscriptions.list({"customer": customer.id, "status": "all"}).data) == 2


def test_subscription_item_endpoints(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": catalog["seat_month"].id, "quantity": 1}]}
    )
    added = client.v1.subscription_items.create(
        {"subscription": sub.id, "price": catalog["number_month"].id, "quantity": 2}
    )
    assert added.quantity == 2
    changed = client.v1.subscription_items.update(
        added.id, {"quantity": 5, "proration_behavior": "none"}
    )
    assert changed.quantity == 5
    assert client.v1.subscription_items.retrieve(added.id).quantity == 5
    client.v1.subscription_items.delete(added.id, {"proration_behavior": "none"})
    assert len(client.v1.subscriptions.retrieve(sub.id)["items"].data) == 1
    event = client.v1.events.list({"type": "customer.subscription.updated"}).data[0]
    assert "items" in event.data.previous_attributes


def test_incompatible_intervals_are_refused(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.create(
            {
                "customer": customer.id,
                "items": [
                    {"price": catalog["seat_month"].id},
                    {"price": catalog["number_year"].id},
                ],
            }
        )


def test_preview_for_a_new_subscription(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    preview = client.v1.invoices.create_preview(
        {"customer": customer.id, "subscription_details": {"items": two_items(catalog, 5, 1)}}
    )
    assert preview.amount_due == 5 * 2900 + 1000
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []
    assert client.v1.invoices.list({"customer": customer.id}).data == []


def test_default_incomplete_paid_from_the_browser(
    sb: SandboxProcess, client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock, card=None)
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": two_items(catalog),
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "expand": ["latest_invoice.confirmation_secret", "latest_invoice.payments"],
        }
    )
    secret = sub.latest_invoice.confirmation_secret.client_secret
    pi_id = sub.latest_invoice.payments.data[0].payment.payment_intent
    assert client.v1.payment_intents.retrieve(pi_id).status == "requires_payment_method"
    browser = sb.client(PUBLISHABLE_KEY)
    paid = browser.v1.payment_intents.confirm(
        pi_id,
        {
            "client_secret": secret,
            "payment_method_data": {  # type: ignore[typeddict-item]
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030},
            },
        },
    )
    assert paid.status == "succeeded"
    after = client.v1.subscriptions.retrieve(sub.id)
    assert after.status == "active" and after.default_payment_method == paid.payment_method
    assert client.v1.payment_methods.retrieve(paid.payment_method).customer == customer.id


def test_preview_prorates_as_of_the_given_proration_date(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    """Stripe: `subscription_details.proration_date` calculates the proration as though the
    update happened then (the portal compares two previews as of one second)."""
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    seat = item_for(sub, catalog["seat_month"].id)
    change = {"items": [{"id": seat.id, "quantity": 4}], "proration_date": HALF}
    preview = client.v1.invoices.create_preview(
        {"subscription": sub.id, "subscription_details": change}
    )
    prorations = [
        line for line in preview.lines.data if line.parent.subscription_item_details.proration
    ]
    assert [line.amount for line in prorations] == [-4350, 5800]  # half a month, not a whole one
    assert {line.period.start for line in prorations} == {HALF}
    outside = {**change, "proration_date": NOV_1_2026 + 31 * DAY}
    with pytest.raises(stripe.InvalidRequestError, match="proration_date"):
        client.v1.invoices.create_preview({"subscription": sub.id, "subscription_details": outside})


def test_canceled_at_is_the_time_the_cancellation_was_asked_for(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    """https://docs.stripe.com/api/subscriptions/object#subscription_object-canceled_at: "If the
    subscription was canceled with cancel_at_period_end, canceled_at will reflect the time of the
    most recent update request, not the end of the subscription period"; a resume clears it."""
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    asked = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert asked.canceled_at == clock.frozen_time and asked.status == "active"
    resumed = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": False})
    assert resumed.canceled_at is None
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": clock.frozen_time + DAY})
    again = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert again.canceled_at == clock.frozen_time + DAY
    client.v1.test_helpers.test_clocks.advance(
        clock.id, {"frozen_time": again.items.data[0].current_period_end + DAY}
    )
    ended = client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.canceled_at == clock.frozen_time + DAY
    assert ended.ended_at == again.items.data[0].current_period_end


@pytest.mark.parametrize("pm", ["pm_card_threeDSecure2Required", "pm_card_threeDSecureRequired"])
def test_stripes_3ds_test_payment_methods_ask_for_authentication(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, pm: str
) -> None:
    """https://docs.stripe.com/testing#regulatory-cards: these always require 3-D Secure."""
    customer = make_customer(client, clock, card=pm)
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": two_items(catalog),
            "payment_behavior": "default_incomplete",
            "expand": ["latest_invoice.payments"],
        }
    )
    assert sub.status == "incomplete"
    pi_id = sub.latest_invoice.payments.data[0].payment.payment_intent
    intent = client.v1.payment_intents.retrieve(pi_id)
    assert intent.status == "requires_action" and intent.next_action.type == "use_stripe_sdk"


# https://docs.stripe.com/api/subscriptions/create#create_subscription-billing_mode-type : classic
# can be asked for; the sandbox bills in classic mode only.
def test_billing_mode_classic_can_be_asked_for(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create(
        {"customer": customer.id, "items": two_items(catalog), "billing_mode": {"type": "classic"}}
    )
    assert sub.billing_mode.type == "classic" and sub.status == "active"


# https://docs.stripe.com/changelog/clover/2025-09-30/billing-mode-default-flexible : flexible is
# Stripe's default since 2025-09-30.clover; the sandbox does not model it
# (https://docs.stripe.com/billing/subscriptions/billing-mode/compare: credit prorations per
# original debit) and says so: the subscription reports the mode it really bills in.
def test_without_billing_mode_the_subscription_reports_the_classic_mode_it_bills_in(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    assert sub.billing_mode.type == "classic"


@pytest.mark.parametrize(
    ("mode", "param"),
    [
        ({"type": "flexible"}, "billing_mode[type]"),
        (
            {"type": "classic", "flexible": {"proration_discounts": "itemized"}},
            "billing_mode[flexible]",
        ),
        ({"type": "fancy"}, "billing_mode[type]"),
        ({"flexible": {"proration_discounts": "included"}}, "billing_mode[flexible]"),
    ],
)
def test_a_billing_mode_the_sandbox_does_not_model_is_refused_and_creates_nothing(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, mode: Any, param: str
) -> None:
    customer = make_customer(client, clock)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create(
            {"customer": customer.id, "items": two_items(catalog), "billing_mode": mode}
        )
    assert refused.value.param == param
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []


# https://docs.stripe.com/api/invoices/create_preview#create_invoice-subscription_details-billing_cycle_anchor
# : an object with `type` (now, unchanged or timestamp) in this API version.
def test_a_preview_takes_the_billing_cycle_anchor_object(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    sub = _subscribe(client, customer, catalog)
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": HALF})
    preview = client.v1.invoices.create_preview(
        {
            "subscription": sub.id,
            "subscription_details": {
                "billing_cycle_anchor": {"type": "now"},
                "proration_behavior": "none",
            },
        }
    )
    assert preview.amount_due == 3 * 2900 + 2 * 1000  # a full period from now
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoices.create_preview(
            {
                "subscription": sub.id,
                "subscription_details": {
                    "billing_cycle_anchor": {"type": "timestamp", "timestamp": HALF + DAY}
                },
            }
        )
    assert refused.value.param == "billing_cycle_anchor[type]"
