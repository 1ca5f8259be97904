"""Coupons, promotion codes and discounts on subscriptions, previews and invoices.

Each test names the Stripe page its expectations come from; shapes come from Stripe's own
example objects (../shared/stripe/fixtures3.json).
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from .helpers import DAY, NOV_1_2026, make_customer, two_items

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "stripe" / "fixtures3.json"
DEC_1_2026 = NOV_1_2026 + 30 * DAY
JAN_1_2027 = DEC_1_2026 + 31 * DAY
FEB_1_2027 = JAN_1_2027 + 31 * DAY


def _fixture(name: str) -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return dict(resources[name])


def _error(caught: pytest.ExceptionInfo[stripe.StripeError]) -> dict[str, Any]:
    body: Any = caught.value.json_body
    return dict(body["error"])


def _advance(client: stripe.StripeClient, clock: Any, to: int) -> None:
    client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": to})


def _pdf_text(data: bytes) -> str:
    """The text shown by an fpdf2 PDF: its (deflated) content streams' string operands."""
    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            content = stream
        shown += re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", content)
    text = " ".join(s.decode("latin-1") for s in shown)
    return re.sub(r"\\(.)", r"\1", text)  # PDF string escapes: \( \) \\


# https://docs.stripe.com/api/coupons/create: percent_off or amount_off (with currency); duration
# once, repeating (with duration_in_months) or forever; the coupon object's fields.
def test_coupons_create_retrieve_list_delete(client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create(
        {
            "id": "RETENTION25",
            "percent_off": 25,
            "duration": "repeating",
            "duration_in_months": 3,
            "name": "Retention",
        }
    )
    assert set(coupon.to_dict()) == set(_fixture("coupon"))
    assert (coupon.id, coupon.percent_off, coupon.duration_in_months) == ("RETENTION25", 25, 3)
    assert coupon.valid and coupon.times_redeemed == 0 and coupon.amount_off is None
    ten = client.v1.coupons.create({"amount_off": 1000, "currency": "usd", "duration": "once"})
    assert client.v1.coupons.retrieve(ten.id).amount_off == 1000
    assert {c.id for c in client.v1.coupons.list().data} == {"RETENTION25", ten.id}
    deleted = client.v1.coupons.delete(ten.id)
    assert deleted.to_dict() == {"id": ten.id, "object": "coupon", "deleted": True}
    assert [c.id for c in client.v1.coupons.list().data] == ["RETENTION25"]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.coupons.retrieve(ten.id)
    assert caught.value.http_status == 404

    refused: list[tuple[Any, str]] = [
        ({"percent_off": 10, "duration": "repeating"}, "duration_in_months"),
        ({"amount_off": 500, "duration": "once"}, "currency"),
        ({"percent_off": 120, "duration": "once"}, "percent_off"),
        ({"percent_off": 10, "amount_off": 5, "currency": "usd"}, "percent_off"),
        ({"id": "RETENTION25", "percent_off": 10}, "id"),
    ]
    for params, param in refused:
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.coupons.create(params)
        assert _error(caught)["param"] == param
    assert len(client.v1.coupons.list().data) == 1


# https://docs.stripe.com/api/promotion_codes/create (current version: `promotion[type]=coupon`
# and `promotion[coupon]`, see docs.stripe.com/changelog/clover/2025-09-30/polymorphic-coupon);
# https://docs.stripe.com/api/promotion_codes/list: `code` is case-insensitive, `active` filters;
# the code "must be unique across all active promotion codes".
def test_promotion_codes_point_at_their_coupon_and_list_by_code(
    client: stripe.StripeClient,
) -> None:
    client.v1.coupons.create({"id": "LAUNCH", "percent_off": 20, "duration": "once"})
    promo = client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": "LAUNCH"}, "code": "LAUNCH20"}
    )
    assert set(promo.to_dict()) == set(_fixture("promotion_code"))
    assert promo.promotion.to_dict() == {"type": "coupon", "coupon": "LAUNCH"}
    assert promo.active and promo.code == "LAUNCH20"
    found = client.v1.promotion_codes.list({"code": "launch20"}).data
    assert [p.id for p in found] == [promo.id]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.promotion_codes.create(
            {"promotion": {"type": "coupon", "coupon": "LAUNCH"}, "code": "launch20"}
        )
    assert _error(caught)["param"] == "code"
    client.v1.promotion_codes.update(promo.id, {"active": False})
    assert client.v1.promotion_codes.list({"code": "LAUNCH20", "active": True}).data == []
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.promotion_codes.create(
            {"promotion": {"type": "coupon", "coupon": "NOPE"}, "code": "X1"}
        )
    assert caught.value.http_status == 400
    assert _error(caught)["param"] == "promotion[coupon]"


# https://docs.stripe.com/billing/subscriptions/coupons: a discount on a subscription reduces its
# invoices; https://docs.stripe.com/api/invoices/object: `discounts`, `total_discount_amounts`
# ({amount, discount}), line `discount_amounts`; `subtotal` before and `total` after discounts.
# Per-line percent amounts are rounded half up to the cent (the sandbox's rule).
def test_a_promotion_code_discounts_the_first_invoice_to_the_cent(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    client.v1.coupons.create({"id": "THIRD", "percent_off": 33.33, "duration": "forever"})
    promo = client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": "THIRD"}, "code": "THIRD"}
    )
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": two_items(catalog),  # 3 × $29.00 and 2 × $10.00
            "discounts": [{"promotion_code": promo.id}],
            "expand": ["latest_invoice", "discounts"],
        }
    )
    assert sub.status == "active"
    (discount,) = sub.discounts
    assert set(discount.to_dict()) == set(_fixture("discount"))
    assert discount.source.to_dict() == {"type": "coupon", "coupon": "THIRD"}
    assert discount.promotion_code == promo.id and discount.end is None
    invoice = sub.latest_invoice
    assert invoice.subtotal == 10700
    # 8700 × 33.33 % = 2899.71 -> 2900; 2000 × 33.33 % = 666.6 -> 667
    amounts = [line.discount_amounts[0].amount for line in invoice.lines.data]
    assert sorted(amounts) == [667, 2900]
    assert [d.to_dict() for d in invoice.total_discount_amounts] == [
        {"amount": 3567, "discount": discount.id}
    ]
    assert invoice.discounts == [discount.id]
    assert invoice.total == invoice.amount_paid == 10700 - 3567
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 1
    assert client.v1.coupons.retrieve("THIRD").times_redeemed == 1

    page = httpx.get(invoice.hosted_invoice_url, timeout=10).text
    assert "THIRD (33.33% off)" in page and "-$35.67" in page and "$71.33" in page
    text = _pdf_text(httpx.get(invoice.invoice_pdf, timeout=10).content)
    assert "THIRD (33.33% off)" in text and "-$35.67" in text and "$71.33" in text


# https://docs.stripe.com/api/coupons/object (duration): "once" applies to the first charge,
# "repeating" for duration_in_months, "forever" to every invoice; an amount_off coupon takes that
# amount off the invoice (spread over its lines, the sandbox's largest-remainder rule).
@pytest.mark.parametrize(
    ("coupon", "discounted"),
    [
        ({"percent_off": 50, "duration": "once"}, [5350, 0, 0]),
        ({"percent_off": 50, "duration": "repeating", "duration_in_months": 2}, [5350, 5350, 0]),
        ({"amount_off": 1000, "currency": "usd", "duration": "forever"}, [1000, 1000, 1000]),
    ],
)
def test_the_duration_is_honoured_across_renewals(
    client: stripe.StripeClient,
    catalog: dict[str, Any],
    clock: Any,
    coupon: dict[str, Any],
    discounted: list[int],
) -> None:
    created = client.v1.coupons.create(coupon)  # type: ignore[arg-type]
    customer = make_customer(client, clock)
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": two_items(catalog),
            "discounts": [{"coupon": created.id}],
        }
    )
    for at in (DEC_1_2026, JAN_1_2027):
        _advance(client, clock, at + 3600 + 60)  # past each renewal's draft hour
    invoices = list(reversed(client.v1.invoices.list({"subscription": sub.id}).data))
    assert [i.subtotal for i in invoices] == [10700, 10700, 10700]
    assert [i.subtotal - i.total for i in invoices] == discounted
    assert all(i.status == "paid" for i in invoices)
    if coupon.get("amount_off"):
        lines = invoices[0].lines.data
        assert sorted(line.discount_amounts[0].amount for line in lines) == [187, 813]
    still = client.v1.subscriptions.retrieve(sub.id)
    assert bool(still.discounts) == (discounted[-1] > 0)


# https://docs.stripe.com/api/promotion_codes/object: `active`, `expires_at`, `max_redemptions`
# limit redemption; a code that cannot be redeemed is refused and nothing is created.
def test_an_inactive_or_used_up_code_or_a_missing_coupon_is_refused(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    client.v1.coupons.create({"id": "ONCE", "percent_off": 10, "duration": "once"})
    off = client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": "ONCE"}, "code": "OFF", "active": False}
    )
    single = client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": "ONCE"}, "code": "ONE", "max_redemptions": 1}
    )
    customer = make_customer(client, clock)
    client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": two_items(catalog),
            "discounts": [{"promotion_code": single.id}],
        }
    )
    other = make_customer(client, clock)
    for entry, param in (
        ({"promotion_code": off.id}, "discounts[0][promotion_code]"),
        ({"promotion_code": single.id}, "discounts[0][promotion_code]"),
        ({"coupon": "NOPE"}, "discounts[0][coupon]"),
        ({"promotion_code": "promo_nope"}, "discounts[0][promotion_code]"),
    ):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.subscriptions.create(
                {"customer": other.id, "items": two_items(catalog), "discounts": [entry]}
            )
        assert caught.value.http_status == 400
        assert _error(caught)["param"] == param
    assert client.v1.subscriptions.list({"customer": other.id}).data == []
    assert client.v1.promotion_codes.retrieve(single.id).times_redeemed == 1


# https://docs.stripe.com/api/invoices/create_preview (`discounts`: "The coupons to redeem into
# discounts for the invoice preview"); a preview redeems nothing. https://docs.stripe.com/api/
# subscriptions/update (`discounts`): the list replaces the subscription's; "" removes them.
def test_previews_and_updates_take_discounts(
    client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    client.v1.coupons.create({"id": "HALF", "percent_off": 50, "duration": "forever"})
    customer = make_customer(client, clock)
    preview = client.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription_details": {"items": two_items(catalog)},
            "discounts": [{"coupon": "HALF"}],
        }
    )
    assert (preview.subtotal, preview.total, preview.amount_due) == (10700, 5350, 5350)
    assert client.v1.coupons.retrieve("HALF").times_redeemed == 0
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": two_items(catalog)})
    upcoming = client.v1.invoices.create_preview(
        {"subscription": sub.id, "discounts": [{"coupon": "HALF"}]}
    )
    assert upcoming.total == 5350
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
    updated = client.v1.subscriptions.update(sub.id, {"discounts": [{"coupon": "HALF"}]})
    assert len(updated.discounts) == 1
    assert client.v1.invoices.create_preview({"subscription": sub.id}).total == 5350
    cleared = client.v1.subscriptions.update(sub.id, {"discounts": ""})
    assert cleared.discounts == []
    assert client.v1.invoices.create_preview({"subscription": sub.id}).total == 10700


# The sandbox's own control (clerk_portal/sandbox/__init__.py): `reset keep=catalog` keeps what the
# portal syncs from its catalog file, coupons and promotion codes included, with their
# redemptions forgotten along with the subscriptions that made them.
def test_reset_keeping_the_catalog_keeps_coupons_and_codes(
    sb: Any, client: stripe.StripeClient, catalog: dict[str, Any], clock: Any
) -> None:
    client.v1.coupons.create({"id": "KEPT", "percent_off": 10, "duration": "forever"})
    promo = client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": "KEPT"}, "code": "KEPT10"}
    )
    customer = make_customer(client, clock)
    client.v1.subscriptions.create(
        {"customer": customer.id, "items": two_items(catalog), "discounts": [{"coupon": "KEPT"}]}
    )
    sb.reset(keep_catalog=True)
    assert client.v1.coupons.retrieve("KEPT").times_redeemed == 0
    assert client.v1.promotion_codes.retrieve(promo.id).times_redeemed == 0
    assert client.v1.subscriptions.list().data == []
