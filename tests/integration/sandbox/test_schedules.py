"""Subscription schedules over HTTP through the SDK, against Stripe's documentation.

Docs: the guide https://docs.stripe.com/billing/subscriptions/subscription-schedules ("Phases",
"Transitioning to the next phase", "Completing a schedule"), the use case "Downgrading a
subscription at the period end" (https://docs.stripe.com/billing/subscriptions/subscription-schedules/use-cases),
and the API reference https://docs.stripe.com/api/subscription_schedules (object, create, update,
release, cancel, list). ``iterations`` was removed in 2025-09-30.clover
(https://docs.stripe.com/changelog/clover/2025-09-30/remove-iterations); the pinned one is later.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from tests.support.sandbox import SECRET_KEY, SandboxProcess

from .helpers import DAY, NOV_1_2026, event_types, item_for, make_customer, two_items

DEC_1_2026 = NOV_1_2026 + 30 * DAY
JAN_1_2027 = DEC_1_2026 + 31 * DAY
FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "stripe" / "fixtures3.json"


def _advance(client: stripe.StripeClient, clock: Any, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": to})


def _subscribed(client: stripe.StripeClient, catalog: dict[str, Any], clock: Any) -> Any:
    customer = make_customer(client, clock)
    return client.v1.subscriptions.create(
        {"customer": customer.id, "items": two_items(catalog, seats=3, numbers=2)}
    )


def _phase(items: list[tuple[Any, int]], **extra: Any) -> dict[str, Any]:
    return {"items": [{"price": p.id, "quantity": q} for p, q in items], **extra}


def _error(excinfo: pytest.ExceptionInfo[stripe.StripeError]) -> tuple[int | None, str | None]:
    error = excinfo.value
    return error.http_status, getattr(error, "param", None)


@pytest.fixture
def cheaper(client: stripe.StripeClient) -> dict[str, Any]:
    """A smaller plan's monthly prices: seat $19, number $5."""
    seat = client.v1.products.create({"name": "Small seat"})
    number = client.v1.products.create({"name": "Small number"})
    return {
        "seat": client.v1.prices.create(
            {
                "product": seat.id,
                "unit_amount": 1900,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        ),
        "number": client.v1.prices.create(
            {
                "product": number.id,
                "unit_amount": 500,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        ),
    }


def test_from_subscription_has_one_phase_for_the_current_period_and_stripes_shape(
    sb: SandboxProcess, client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    # create: "from_subscription: ... a subscription schedule will be created using the
    # subscription's item(s), set to auto-renew using the subscription's interval"
    sub = _subscribed(client, catalog, clock)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    assert schedule.id.startswith("sub_sched_")
    assert schedule.status == "active" and schedule.subscription == sub.id
    assert schedule.end_behavior == "release" and schedule.customer == sub.customer
    [phase] = schedule.phases
    assert (phase.start_date, phase.end_date) == (NOV_1_2026, DEC_1_2026)
    assert schedule.current_phase.start_date == NOV_1_2026
    assert schedule.current_phase.end_date == DEC_1_2026
    assert sorted((i.price, i.quantity) for i in phase["items"]) == sorted(
        [(catalog["seat_month"].id, 3), (catalog["number_month"].id, 2)]
    )
    assert client.v1.subscriptions.retrieve(sub.id).schedule == schedule.id
    types = event_types(client)
    assert "subscription_schedule.created" in types
    assert types[-2:] == ["customer.subscription.updated", "subscription_schedule.created"]
    raw = httpx.get(
        f"{sb.url}/v1/subscription_schedules/{schedule.id}", auth=(SECRET_KEY, "")
    ).json()
    expected = json.loads(FIXTURES.read_text())["resources"]["subscription_schedule"]
    assert set(raw) == set(expected)
    assert set(raw["phases"][0]) >= set(expected["phases"][0]) - {"billing_thresholds"}
    listed = client.v1.subscription_schedules.list({"customer": sub.customer})
    assert [s.id for s in listed.data] == [schedule.id]


def test_downgrade_at_the_period_end_renews_on_the_second_phases_prices(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, cheaper: dict[str, Any]
) -> None:
    # use cases, "Downgrading a subscription at the period end": from_subscription, then an update
    # with the current phase and a second one holding the new prices; nothing is prorated, the
    # renewal invoice bills the new prices; end_behavior release keeps the subscription running.
    sub = _subscribed(client, catalog, clock)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    current = schedule.phases[0]
    schedule = client.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                _phase(
                    [(catalog["seat_month"], 3), (catalog["number_month"], 2)],
                    start_date=current.start_date,
                    end_date=current.end_date,
                ),
                _phase([(cheaper["seat"], 3), (cheaper["number"], 2)]),
            ]
        },
    )
    assert [p.start_date for p in schedule.phases] == [NOV_1_2026, DEC_1_2026]
    assert schedule.phases[1].end_date == JAN_1_2027  # no length given: one interval
    preview = client.v1.invoices.create_preview({"subscription": sub.id})
    assert preview.amount_due == 3 * 1900 + 2 * 500  # the upcoming renewal is the new plan's

    _advance(client, clock, DEC_1_2026 + 3600)
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    renewal = sub.latest_invoice
    assert renewal.billing_reason == "subscription_cycle" and renewal.status == "paid"
    assert renewal.amount_paid == 3 * 1900 + 2 * 500
    assert not any(line.parent.subscription_item_details.proration for line in renewal.lines.data)
    assert sorted(i.price.id for i in sub["items"].data) == sorted(
        [cheaper["seat"].id, cheaper["number"].id]
    )
    assert sub["items"].data[0].current_period_end == JAN_1_2027
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "active" and schedule.current_phase.start_date == DEC_1_2026

    # "Completing a schedule": after the last phase the subscription is released and keeps going
    _advance(client, clock, JAN_1_2027 + 3600)
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "released" and schedule.released_at == JAN_1_2027
    assert schedule.released_subscription == sub.id and schedule.subscription is None
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert sub.schedule is None and sub.status == "active"
    assert sub.latest_invoice.amount_paid == 3 * 1900 + 2 * 500
    types = event_types(client)
    assert "subscription_schedule.updated" in types and "subscription_schedule.released" in types


def test_interval_change_month_to_year_at_the_period_end_starts_a_yearly_cycle(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribed(client, catalog, clock)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    client.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                _phase(
                    [(catalog["seat_month"], 3), (catalog["number_month"], 2)],
                    start_date=NOV_1_2026,
                    end_date=DEC_1_2026,
                ),
                _phase(
                    [(catalog["seat_year"], 3), (catalog["number_year"], 2)],
                    duration={"interval": "year", "interval_count": 1},
                ),
            ]
        },
    )
    _advance(client, clock, DEC_1_2026 + 3600)
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    invoice = sub.latest_invoice
    assert invoice.status == "paid" and invoice.amount_paid == 3 * 29000 + 2 * 10000
    seat = item_for(sub, catalog["seat_year"].id)
    assert (seat.current_period_start, seat.current_period_end) == (
        DEC_1_2026,
        DEC_1_2026 + 365 * DAY,
    )
    invoices = client.v1.invoices.list({"subscription": sub.id}).data
    assert len(invoices) == 2  # the first month, then the year: no monthly renewal in between


def test_release_keeps_the_current_prices_and_clears_the_subscriptions_schedule(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, cheaper: dict[str, Any]
) -> None:
    # release: "stop scheduling of its phases, but leave any existing subscription in place ...
    # its status will be released, released_at will be the current time"
    sub = _subscribed(client, catalog, clock)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    client.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                _phase(
                    [(catalog["seat_month"], 3), (catalog["number_month"], 2)],
                    start_date=NOV_1_2026,
                    end_date=DEC_1_2026,
                ),
                _phase([(cheaper["seat"], 3), (cheaper["number"], 2)]),
            ]
        },
    )
    _advance(client, clock, NOV_1_2026 + 10 * DAY)
    released = client.v1.subscription_schedules.release(schedule.id)
    assert released.status == "released" and released.released_at == NOV_1_2026 + 10 * DAY
    assert released.released_subscription == sub.id and released.subscription is None
    assert released.current_phase is None
    assert client.v1.subscriptions.retrieve(sub.id).schedule is None
    assert event_types(client)[-2:] == [
        "customer.subscription.updated",
        "subscription_schedule.released",
    ]
    with pytest.raises(stripe.InvalidRequestError):  # only not_started or active can be released
        client.v1.subscription_schedules.release(schedule.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscription_schedules.update(schedule.id, {"metadata": {"a": "b"}})
    _advance(client, clock, DEC_1_2026 + 3600)
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert sub.latest_invoice.amount_paid == 3 * 2900 + 2 * 1000


def test_quantity_change_in_the_current_phase_prorates_and_the_next_phase_keeps_its_own(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any, cheaper: dict[str, Any]
) -> None:
    # update, proration_behavior: "If the update changes the billing configuration (item price,
    # quantity, etc.) of the current phase, indicates how prorations from this change should be
    # handled. The default value is create_prorations."
    sub = _subscribed(client, catalog, clock)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    _advance(client, clock, NOV_1_2026 + 15 * DAY)
    client.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                _phase(
                    [(catalog["seat_month"], 4), (catalog["number_month"], 2)],
                    start_date=NOV_1_2026,
                    end_date=DEC_1_2026,
                ),
                _phase([(cheaper["seat"], 4), (cheaper["number"], 2)]),
            ],
            "proration_behavior": "always_invoice",
        },
    )
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert item_for(sub, catalog["seat_month"].id).quantity == 4
    assert sub.latest_invoice.amount_paid == 1450  # half a month of one $29 seat
    _advance(client, clock, DEC_1_2026 + 3600)
    sub = client.v1.subscriptions.retrieve(sub.id, {"expand": ["latest_invoice"]})
    assert sub.latest_invoice.amount_paid == 4 * 1900 + 2 * 500


def test_cancel_cancels_the_subscription_now_with_proration(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    # cancel: "Cancels a subscription schedule and its associated subscription immediately (if
    # the subscription schedule has an active subscription)"; prorate and invoice_now default true
    sub = _subscribed(client, catalog, clock)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    _advance(client, clock, NOV_1_2026 + 15 * DAY)
    canceled = client.v1.subscription_schedules.cancel(schedule.id)
    assert canceled.status == "canceled" and canceled.canceled_at == NOV_1_2026 + 15 * DAY
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled"
    credit = client.v1.invoices.list({"subscription": sub.id}).data[0]
    assert credit.total == -(3 * 2900 + 2 * 1000) // 2
    types = event_types(client)
    assert types.index("customer.subscription.deleted") < types.index(
        "subscription_schedule.canceled"
    )


def test_end_behavior_cancel_cancels_the_subscription_after_the_last_phase(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribed(client, catalog, clock)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    client.v1.subscription_schedules.update(schedule.id, {"end_behavior": "cancel"})
    _advance(client, clock, DEC_1_2026 + 3600)
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert schedule.status == "completed" and schedule.completed_at == DEC_1_2026
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled" and sub.ended_at == DEC_1_2026
    assert len(client.v1.invoices.list({"subscription": sub.id}).data) == 1  # no renewal
    assert "subscription_schedule.completed" in event_types(client)


def test_a_subscription_canceled_directly_cancels_its_schedule(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribed(client, catalog, clock)
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    client.v1.subscriptions.cancel(sub.id)
    assert client.v1.subscription_schedules.retrieve(schedule.id).status == "canceled"


def test_customer_and_phases_starting_now_create_the_subscription(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    customer = make_customer(client, clock)
    schedule = client.v1.subscription_schedules.create(
        {
            "customer": customer.id,
            "start_date": "now",
            "phases": [_phase([(catalog["seat_month"], 2)], duration={"interval": "month"})],
        }
    )
    assert schedule.status == "active" and schedule.subscription
    sub = client.v1.subscriptions.retrieve(schedule.subscription, {"expand": ["latest_invoice"]})
    assert sub.schedule == schedule.id and sub.latest_invoice.amount_paid == 2 * 2900
    later = client.v1.subscription_schedules.create(
        {
            "customer": customer.id,
            "start_date": NOV_1_2026 + 5 * DAY,
            "phases": [_phase([(catalog["seat_month"], 1)])],
        }
    )
    assert later.status == "not_started" and later.subscription is None
    listed = client.v1.subscription_schedules.list({"customer": customer.id, "scheduled": True})
    assert [s.id for s in listed.data] == [later.id]
    _advance(client, clock, NOV_1_2026 + 5 * DAY + 60)
    later = client.v1.subscription_schedules.retrieve(later.id)
    assert later.status == "active" and later.subscription


@pytest.mark.parametrize(
    ("params", "param"),
    [
        # removed in 2025-09-30.clover: "Using iterations in these endpoints now returns an error."
        ({"phases": [{"items": [{"price": "SEAT"}], "iterations": 2}]}, "phases[0][iterations]"),
        ({"phases": [{"items": [{"price": "SEAT"}], "trial_end": 1}]}, "phases[0][trial_end]"),
        ({"phases": [{"items": [{"price": "SEAT", "tax_rates": ["x"]}]}]}, None),
        ({"phases": [{"items": [{"price": "price_nope"}]}]}, "phases[0][items][0][price]"),
        ({"default_settings": {"collection_method": "send_invoice"}}, "default_settings"),
        ({"end_behavior": "renew"}, "end_behavior"),
        (
            {
                "phases": [
                    {"items": [{"price": "SEAT"}], "end_date": 1, "duration": {"interval": "month"}}
                ]
            },
            "phases[0][end_date]",
        ),
    ],
)
def test_refusals_on_create_name_the_parameter(
    client: stripe.StripeClient,
    catalog: dict[str, Any],
    clock: Any,
    params: dict[str, Any],
    param: str | None,
) -> None:
    customer = make_customer(client, clock)
    text = json.dumps(params).replace("SEAT", catalog["seat_month"].id)
    body = {"customer": customer.id, "start_date": "now", **json.loads(text)}
    if "phases" not in body:
        body["phases"] = [{"items": [{"price": catalog["seat_month"].id}]}]
    with pytest.raises(stripe.StripeError) as excinfo:
        client.v1.subscription_schedules.create(body)
    status, named = _error(excinfo)
    assert status in (400, 404)
    if param is None:
        assert named == "phases[0][items][0][tax_rates]"
    else:
        assert named == param
    assert client.v1.subscription_schedules.list({"customer": customer.id}).data == []
    assert client.v1.subscriptions.list({"customer": customer.id}).data == []


def test_refusals_on_a_scheduled_subscription(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    sub = _subscribed(client, catalog, clock)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscription_schedules.create(
            {
                "from_subscription": sub.id,
                "phases": [{"items": [{"price": catalog["seat_month"].id}]}],
            }
        )
    assert _error(excinfo) == (400, "phases")
    schedule = client.v1.subscription_schedules.create({"from_subscription": sub.id})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscription_schedules.create({"from_subscription": sub.id})
    assert _error(excinfo) == (400, "from_subscription")
    # a schedule owns the cancellation of its subscription
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert _error(excinfo) == (400, "cancel_at_period_end")
    assert client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end is False
    # "You can not modify the start date of the current phase"; past phases may be omitted
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscription_schedules.update(
            schedule.id,
            {"phases": [_phase([(catalog["seat_month"], 3)], start_date=NOV_1_2026 + 60)]},
        )
    assert _error(excinfo) == (400, "phases[0][start_date]")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscription_schedules.update(
            schedule.id,
            {
                "phases": [
                    _phase(
                        [(catalog["seat_month"], 3)], start_date=NOV_1_2026, end_date=DEC_1_2026
                    ),
                    _phase([(catalog["seat_month"], 3)], start_date=DEC_1_2026 + 1),
                ]
            },
        )
    assert _error(excinfo) == (400, "phases[1][start_date]")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.subscription_schedules.update(
            schedule.id,
            {"phases": [_phase([(catalog["seat_month"], 3)], start_date=NOV_1_2026, iterations=1)]},
        )
    assert _error(excinfo) == (400, "phases[0][iterations]")
    # nothing of the refused updates stuck
    schedule = client.v1.subscription_schedules.retrieve(schedule.id)
    assert len(schedule.phases) == 1 and schedule.phases[0].end_date == DEC_1_2026
    sub = client.v1.subscriptions.retrieve(sub.id)
    assert item_for(sub, catalog["seat_month"].id).quantity == 3
