"""Quotes (Stripe's /v1/quotes): draft -> open (finalize) -> accepted (a subscription) or
canceled; an open quote past `expires_at` is canceled, as Stripe does. Recurring prices of one
interval only (what a subscription accepts); coupons or promotion codes in `discounts` (quote
level, no taxes yet).

Shapes: Stripe's quote object (../shared/stripe/fixtures3.json); transitions and endpoints:
https://docs.stripe.com/quotes/overview (draft -> open, draft/open -> canceled, open ->
accepted), https://docs.stripe.com/api/quotes/finalize, /accept, /cancel and /pdf (served on
files.stripe.com by Stripe: the SDK's "files" base address).

Discounts (https://docs.stripe.com/api/quotes/object): `discounts` holds the quote's discount
ids; `amount_total` and `computed.upfront` are after every discount (the first invoice),
`computed.recurring` "takes into account ... discounts with duration=forever coupons only";
accepting the quote starts the subscription with the same coupons.
"""

from __future__ import annotations

from typing import Any

from ..errors import invalid, missing, not_found
from ..pdf import quote_pdf
from ..render import expand_paths, page, render, renderer
from ..router import route
from ..store import Ctx
from ..util import as_int, as_list, merge_metadata, new_id, public
from . import billing, coupons
from .catalog import get_price, render_price
from .customers import get_customer

CREATE_PARAMS = (
    "customer line_items[price,quantity] expires_at description header footer metadata "
    "collection_method invoice_settings discounts[coupon,promotion_code]"
)
DEFAULT_VALIDITY = 30 * 86400  # Stripe's default when the quote template sets none


def get_quote(ctx: Ctx, quote_id: Any, param: str = "quote") -> dict[str, Any]:
    quote = ctx.store.get(quote_id) if isinstance(quote_id, str) else None
    if not quote or quote["object"] != "quote":
        raise not_found("quote", str(quote_id), param)
    _expire(ctx, quote)
    return quote


def _expire(ctx: Ctx, quote: dict[str, Any]) -> None:
    """An open quote past its expiry is canceled (Stripe does it at `expires_at`)."""
    if quote["status"] == "open" and ctx.time_for(quote) >= quote["expires_at"]:
        quote["status"] = "canceled"
        quote["status_transitions"]["canceled_at"] = quote["expires_at"]
        ctx.emit("quote.canceled", render(ctx, quote), created=quote["expires_at"])


def _lines(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    entries = as_list(params, "line_items")
    if not entries:
        raise missing("line_items")
    lines = []
    for i, entry in enumerate(entries):
        price = get_price(ctx, entry.get("price"), f"line_items[{i}][price]")
        quantity = as_int(entry, "quantity", 1)
        if quantity is None or quantity < 0:
            raise invalid("Invalid quantity: must be at least 0", f"line_items[{i}][quantity]")
        lines.append({"id": new_id("li_"), "price": price["id"], "quantity": quantity})
    prices = [get_price(ctx, line["price"]) for line in lines]
    for price in prices:
        billing.cadence(price)  # recurring only: the quote becomes a subscription
    billing._compatible(prices)
    return lines


def _coupons(ctx: Ctx, quote: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(discount id, coupon) per discount of the quote, in order."""
    out = []
    for discount_id in quote["discounts"]:
        discount = ctx.store.get(discount_id)
        coupon = coupons.coupon_of(ctx, discount["source"]["coupon"]) if discount else None
        if coupon is not None:
            out.append((discount_id, coupon))
    return out


def _discounted(
    ctx: Ctx, quote: dict[str, Any], forever_only: bool
) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
    """Each line's discount amount, and (line id -> [{amount, discount}]), as an invoice of
    these lines would take them (coupons.py's math: percent per line, amount spread)."""
    order = [line["id"] for line in quote["_lines"]]
    remaining = {
        line["id"]: get_price(ctx, line["price"])["unit_amount"] * line["quantity"]
        for line in quote["_lines"]
    }
    off = dict.fromkeys(order, 0)
    per_line: dict[str, list[dict[str, Any]]] = {i: [] for i in order}
    for discount_id, coupon in _coupons(ctx, quote):
        if forever_only and coupon["duration"] != "forever":
            continue
        for line_id, amount in coupons.spread(coupon, remaining, order).items():
            remaining[line_id] -= amount
            off[line_id] += amount
            per_line[line_id].append({"amount": amount, "discount": discount_id})
    return off, per_line


def _amounts(ctx: Ctx, quote: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The line items (after every discount, as the first invoice) and their subtotal."""
    off, per_line = _discounted(ctx, quote, forever_only=False)
    rendered, subtotal = [], 0
    for line in quote["_lines"]:
        price = get_price(ctx, line["price"])
        amount = price["unit_amount"] * line["quantity"]
        subtotal += amount
        product = ctx.store.get(price["product"])
        rendered.append(
            {
                "id": line["id"],
                "object": "item",
                "adjustable_quantity": None,
                "amount_discount": off[line["id"]],
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount - off[line["id"]],
                "currency": price["currency"],
                "description": product["name"] if product else price["id"],
                "discounts": per_line[line["id"]],
                "metadata": {},
                "price": render_price(ctx, price),
                "quantity": line["quantity"],
            }
        )
    return rendered, subtotal


def _totals(discount: int = 0) -> dict[str, Any]:
    return {"amount_discount": discount, "amount_shipping": 0, "amount_tax": 0}


def discount_rows(ctx: Ctx, quote: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(label, amount on the first invoice, duration) per discount, for the PDF."""
    _, per_line = _discounted(ctx, quote, forever_only=False)
    rows = []
    for discount_id, coupon in _coupons(ctx, quote):
        amount = sum(
            entry["amount"]
            for entries in per_line.values()
            for entry in entries
            if entry["discount"] == discount_id
        )
        if coupon["duration"] == "repeating":
            duration = f"for {coupon['duration_in_months']} months"
        else:
            duration = {"once": "first invoice only", "forever": "every invoice"}[
                coupon["duration"]
            ]
        rows.append((coupons.describe(coupon), amount, duration))
    return rows


@renderer("quotes")
def render_quote(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    obj = public(record)
    lines, subtotal = _amounts(ctx, record)
    total = sum(line["amount_total"] for line in lines)
    forever_off, _ = _discounted(ctx, record, forever_only=True)
    recurring_off = sum(forever_off.values())
    recurring = get_price(ctx, record["_lines"][0]["price"])["recurring"]
    obj["amount_subtotal"], obj["amount_total"] = subtotal, total
    obj["total_details"] = _totals(subtotal - total)
    obj["computed"] = {
        "recurring": {
            "amount_subtotal": subtotal,
            "amount_total": subtotal - recurring_off,
            "interval": recurring["interval"],
            "interval_count": recurring.get("interval_count", 1),
            "total_details": _totals(recurring_off),
        },
        # the first invoice of the subscription: one period of everything, every discount
        "upfront": {
            "amount_subtotal": subtotal,
            "amount_total": total,
            "total_details": _totals(subtotal - total),
        },
    }
    return obj


def _quote_discounts(ctx: Ctx, params: dict[str, Any], currency: str, at: int) -> list[str]:
    """The quote's own discount records (redeemed, and counted, once the quote is accepted)."""
    if "discounts" not in params:
        return []
    ids = []
    for entry in coupons.resolve_discounts(ctx, params["discounts"], currency):
        assert not isinstance(entry, str)  # no `discounts[][discount]` on a new quote
        coupon, promo = entry
        discount = coupons.discount_record(params["customer"], coupon, promo, at)
        ctx.store.put(discount)
        ids.append(discount["id"])
    return ids


@route("POST", "/v1/quotes", params=CREATE_PARAMS)
def create_quote(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("customer"):
        # Stripe lets a draft have no customer; this sandbox needs one to bill the acceptance.
        raise missing("customer")
    customer = get_customer(ctx, params["customer"])
    lines = _lines(ctx, params)
    now = ctx.now(customer["test_clock"])
    expires_at = as_int(params, "expires_at") or now + DEFAULT_VALIDITY
    if expires_at <= now:
        raise invalid("The `expires_at` timestamp must be in the future.", "expires_at")
    method = params.get("collection_method") or "charge_automatically"
    if method not in ("charge_automatically", "send_invoice"):
        raise invalid(f"Invalid collection_method: {method}", "collection_method")
    days = as_int(params.get("invoice_settings") or {}, "days_until_due")
    price = get_price(ctx, lines[0]["price"])
    discounts = _quote_discounts(ctx, params, price["currency"], now)
    quote = {
        "id": new_id("qt_"),
        "object": "quote",
        "application": None,
        "application_fee_amount": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "collection_method": method,
        "created": now,
        "currency": price["currency"],
        "customer": customer["id"],
        "customer_account": None,
        "default_tax_rates": [],
        "description": params.get("description") or None,
        "discounts": discounts,
        "expires_at": expires_at,
        "footer": params.get("footer") or None,
        "from_quote": None,
        "header": params.get("header") or None,
        "invoice": None,
        "invoice_settings": {
            "days_until_due": days,
            "issuer": {"type": "self"},
            "custom_fields": None,
            "description": None,
            "footer": None,
        },
        "livemode": False,
        "metadata": merge_metadata({}, params.get("metadata") or {}),
        "number": None,
        "on_behalf_of": None,
        "status": "draft",
        "status_transitions": {"accepted_at": None, "canceled_at": None, "finalized_at": None},
        "subscription": None,
        "subscription_data": {
            "description": None,
            "effective_date": None,
            "metadata": None,
            "trial_period_days": None,
            "billing_mode": {"type": "classic"},
        },
        "subscription_schedule": None,
        "test_clock": customer["test_clock"],
        "transfer_data": None,
        "_lines": lines,
    }
    ctx.store.put(quote)
    ctx.emit("quote.created", render(ctx, quote), created=now)
    return render(ctx, quote, expand_paths(params))


@route("GET", "/v1/quotes/{quote_id}")
def retrieve_quote(ctx: Ctx, params: dict[str, Any], quote_id: str) -> dict[str, Any]:
    return render(ctx, get_quote(ctx, quote_id, "id"), expand_paths(params))


@route("GET", "/v1/quotes", params="customer status limit starting_after ending_before")
def list_quotes(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    quotes = [get_quote(ctx, q["id"]) for q in ctx.store.all("quotes")]
    if params.get("customer"):
        quotes = [q for q in quotes if q["customer"] == params["customer"]]
    if params.get("status"):
        quotes = [q for q in quotes if q["status"] == params["status"]]
    return page(ctx, quotes, params, "/v1/quotes")


@route("GET", "/v1/quotes/{quote_id}/line_items", params="limit starting_after ending_before")
def list_line_items(ctx: Ctx, params: dict[str, Any], quote_id: str) -> dict[str, Any]:
    lines, _ = _amounts(ctx, get_quote(ctx, quote_id, "id"))
    if "data.discounts" not in expand_paths(params):  # "not included by default"
        for line in lines:
            del line["discounts"]
    return page(ctx, lines, params, f"/v1/quotes/{quote_id}/line_items", newest_first=False)


def _refuse(quote: dict[str, Any], action: str, allowed: tuple[str, ...]) -> None:
    if quote["status"] not in allowed:
        raise invalid(
            f"This quote cannot be {action} because it has a status of {quote['status']}. "
            f"Only quotes with a status of {' or '.join(allowed)} can be {action}."
        )


@route("POST", "/v1/quotes/{quote_id}/finalize", params="expires_at")
def finalize_quote(ctx: Ctx, params: dict[str, Any], quote_id: str) -> dict[str, Any]:
    quote = get_quote(ctx, quote_id, "id")
    _refuse(quote, "finalized", ("draft",))
    now = ctx.time_for(quote)
    if "expires_at" in params:
        quote["expires_at"] = as_int(params, "expires_at")
    if quote["expires_at"] <= now:
        raise invalid("The `expires_at` timestamp must be in the future.", "expires_at")
    customer = get_customer(ctx, quote["customer"])
    quote["number"] = f"QT-{customer['invoice_prefix']}-{len(ctx.store.all('quotes')):04d}-1"
    quote["status"] = "open"
    quote["status_transitions"]["finalized_at"] = now
    ctx.emit("quote.finalized", render(ctx, quote), created=now)
    return render(ctx, quote, expand_paths(params))


@route("POST", "/v1/quotes/{quote_id}/accept")
def accept_quote(ctx: Ctx, params: dict[str, Any], quote_id: str) -> dict[str, Any]:
    quote = get_quote(ctx, quote_id, "id")
    _refuse(quote, "accepted", ("open",))
    items = [{"price": line["price"], "quantity": line["quantity"]} for line in quote["_lines"]]
    sub_params: dict[str, Any] = {
        "customer": quote["customer"],
        "items": items,
        "collection_method": quote["collection_method"],
    }
    redeem = []
    for discount_id in quote["discounts"]:
        discount = ctx.store.get(discount_id)
        if discount is not None:
            promo = discount["promotion_code"]
            redeem.append(
                {"promotion_code": promo} if promo else {"coupon": discount["source"]["coupon"]}
            )
    if redeem:
        sub_params["discounts"] = redeem
    if quote["collection_method"] == "send_invoice":
        sub_params["days_until_due"] = quote["invoice_settings"]["days_until_due"] or 30
    sub = billing.create(ctx, sub_params)
    now = ctx.time_for(quote)
    quote["status"], quote["subscription"] = "accepted", sub["id"]
    quote["invoice"] = sub.get("latest_invoice")
    quote["status_transitions"]["accepted_at"] = now
    ctx.emit("quote.accepted", render(ctx, quote), created=now)
    return render(ctx, quote, expand_paths(params))


@route("POST", "/v1/quotes/{quote_id}/cancel")
def cancel_quote(ctx: Ctx, params: dict[str, Any], quote_id: str) -> dict[str, Any]:
    quote = get_quote(ctx, quote_id, "id")
    _refuse(quote, "canceled", ("draft", "open"))
    now = ctx.time_for(quote)
    quote["status"] = "canceled"
    quote["status_transitions"]["canceled_at"] = now
    ctx.emit("quote.canceled", render(ctx, quote), created=now)
    return render(ctx, quote, expand_paths(params))


@route("GET", "/v1/quotes/{quote_id}/pdf")
def download_pdf(ctx: Ctx, params: dict[str, Any], quote_id: str) -> dict[str, Any]:
    quote = get_quote(ctx, quote_id, "id")
    if quote["status"] == "draft":
        raise invalid("The quote must be finalized before its PDF can be downloaded.")
    customer = get_customer(ctx, quote["customer"])
    lines, _ = _amounts(ctx, quote)
    return {
        "_file": quote_pdf(render(ctx, quote), lines, customer, discount_rows(ctx, quote)),
        "_filename": f"{quote['number']}.pdf",
    }
