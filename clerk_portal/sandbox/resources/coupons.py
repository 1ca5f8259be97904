"""Coupons, promotion codes and discounts: endpoints, redemption and the invoice discount math.

Shapes follow the current API version: a promotion code points at its coupon through
``promotion: {type: "coupon", coupon}`` and a discount through ``source: {type: "coupon",
coupon}``. Discounts apply to a subscription's discountable lines (not to prorations), percent
coupons line by line rounded half up to the cent, amount coupons spread over the lines in
proportion to their amounts (largest remainder), never below zero.
"""

from __future__ import annotations

import secrets
import string
from fractions import Fraction
from typing import Any

from ..errors import invalid, missing, not_found
from ..render import created_filter, expand_paths, page, render, renderer
from ..router import route
from ..store import Ctx
from ..util import add_months, as_bool, as_int, as_list, merge_metadata, new_id, public

DURATIONS = ("once", "repeating", "forever")
DISCOUNT_KEYS = "discounts[coupon,promotion_code,discount]"


def get_coupon(ctx: Ctx, coupon_id: Any, param: str = "coupon") -> dict[str, Any]:
    coupon = ctx.store.data["coupons"].get(coupon_id) if isinstance(coupon_id, str) else None
    if coupon is None or coupon.get("_deleted"):
        raise not_found("coupon", str(coupon_id), param)
    return coupon


def get_promotion_code(ctx: Ctx, promo_id: Any, param: str = "promotion_code") -> dict[str, Any]:
    promo = ctx.store.get(promo_id)
    if not promo or promo["object"] != "promotion_code":
        raise not_found("promotion_code", str(promo_id), param)
    return promo


def _valid(ctx: Ctx, coupon: dict[str, Any]) -> bool:
    if coupon["redeem_by"] is not None and ctx.now() >= coupon["redeem_by"]:
        return False
    limit = coupon["max_redemptions"]
    return limit is None or coupon["times_redeemed"] < limit


@renderer("coupons")
def render_coupon(ctx: Ctx, coupon: dict[str, Any]) -> dict[str, Any]:
    obj = public(coupon)
    obj["valid"] = _valid(ctx, coupon)
    return obj


# -- coupons ------------------------------------------------------------------------------------


@route(
    "POST",
    "/v1/coupons",
    params="id percent_off amount_off currency duration duration_in_months name metadata "
    "max_redemptions redeem_by !applies_to !currency_options",
)
def create_coupon(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    coupon_id = params.get("id") or "".join(
        secrets.choice(string.ascii_letters + string.digits) for _ in range(8)
    )
    if coupon_id in ctx.store.data["coupons"] and not ctx.store.data["coupons"][coupon_id].get(
        "_deleted"
    ):
        raise invalid("Coupon already exists.", "id", "resource_already_exists")
    percent, amount = params.get("percent_off"), as_int(params, "amount_off")
    if (percent in (None, "")) == (amount is None):
        raise invalid("You must pass exactly one of percent_off or amount_off.", "percent_off")
    if percent not in (None, ""):
        try:
            value = Fraction(str(percent))
        except (ValueError, ZeroDivisionError):
            raise invalid(f"Invalid decimal: {percent}", "percent_off") from None
        if not 0 < value <= 100:
            raise invalid("percent_off must be greater than 0 and at most 100.", "percent_off")
        percent = float(percent)
        if percent.is_integer():
            percent = int(percent)
    currency = str(params.get("currency") or "").lower() or None
    if amount is not None:
        if amount <= 0:
            raise invalid("amount_off must be a positive integer.", "amount_off")
        if not currency:
            raise missing("currency")
    duration = params.get("duration") or "once"
    if duration not in DURATIONS:
        raise invalid(f"Invalid duration: must be one of {', '.join(DURATIONS)}", "duration")
    months = as_int(params, "duration_in_months")
    if duration == "repeating" and (months is None or months <= 0):
        raise missing("duration_in_months")
    if duration != "repeating" and months is not None:
        raise invalid(
            "duration_in_months can only be set when duration is repeating.", "duration_in_months"
        )
    coupon = {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": amount,
        "created": ctx.now(),
        "currency": currency if amount is not None else None,
        "duration": duration,
        "duration_in_months": months,
        "livemode": False,
        "max_redemptions": as_int(params, "max_redemptions"),
        "metadata": merge_metadata({}, params.get("metadata", {})),
        "name": params.get("name") or None,
        "percent_off": percent if amount is None else None,
        "redeem_by": as_int(params, "redeem_by"),
        "times_redeemed": 0,
        "valid": True,
    }
    ctx.store.data["coupons"][coupon_id] = coupon
    ctx.emit("coupon.created", render_coupon(ctx, coupon), created=coupon["created"])
    return render_coupon(ctx, coupon)


@route("GET", "/v1/coupons/{coupon_id}")
def retrieve_coupon(ctx: Ctx, params: dict[str, Any], coupon_id: str) -> dict[str, Any]:
    return render_coupon(ctx, get_coupon(ctx, coupon_id, "id"))


@route("POST", "/v1/coupons/{coupon_id}", params="name metadata !currency_options")
def update_coupon(ctx: Ctx, params: dict[str, Any], coupon_id: str) -> dict[str, Any]:
    coupon = get_coupon(ctx, coupon_id, "id")
    if "name" in params:
        coupon["name"] = params["name"] or None
    if "metadata" in params:
        coupon["metadata"] = merge_metadata(coupon["metadata"], params["metadata"])
    ctx.emit("coupon.updated", render_coupon(ctx, coupon))
    return render_coupon(ctx, coupon)


@route("DELETE", "/v1/coupons/{coupon_id}")
def delete_coupon(ctx: Ctx, params: dict[str, Any], coupon_id: str) -> dict[str, Any]:
    """Deleting a coupon stops new redemptions; discounts already applied keep working."""
    coupon = get_coupon(ctx, coupon_id, "id")
    coupon["_deleted"] = True
    ctx.emit("coupon.deleted", render_coupon(ctx, coupon))
    return {"id": coupon_id, "object": "coupon", "deleted": True}


@route("GET", "/v1/coupons", params="limit starting_after ending_before created")
def list_coupons(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    live = [c for c in ctx.store.data["coupons"].values() if not c.get("_deleted")]
    listed = page(ctx, created_filter(live, params), params, "/v1/coupons")
    listed["data"] = [render_coupon(ctx, get_coupon(ctx, c["id"])) for c in listed["data"]]
    return listed


def coupon_of(ctx: Ctx, coupon_id: str) -> dict[str, Any] | None:
    """A coupon by id, deleted ones included (a discount outlives its coupon)."""
    return ctx.store.data["coupons"].get(coupon_id)


# -- promotion codes ----------------------------------------------------------------------------


def _code_taken(ctx: Ctx, code: str) -> bool:
    return any(
        p["active"] and p["code"].lower() == code.lower() for p in ctx.store.all("promotion_codes")
    )


@route(
    "POST",
    "/v1/promotion_codes",
    params="promotion[type,coupon] code active max_redemptions expires_at metadata !customer "
    "!restrictions",
)
def create_promotion_code(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    promotion = params.get("promotion")
    if not isinstance(promotion, dict) or not promotion.get("coupon"):
        raise missing("promotion[coupon]")
    if promotion.get("type", "coupon") != "coupon":
        raise invalid("Invalid promotion[type]: must be coupon", "promotion[type]")
    coupon = get_coupon(ctx, promotion["coupon"], "promotion[coupon]")
    code = str(params.get("code") or "").strip() or "".join(
        secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8)
    )
    if not code.isalnum() or not code.isascii():
        raise invalid("The code may only contain letters and digits.", "code")
    active = as_bool(params, "active", True)
    if active and _code_taken(ctx, code):
        raise invalid(
            f"An active promotion code with `code: {code}` already exists.",
            "code",
            "resource_already_exists",
        )
    now = ctx.now()
    expires_at = as_int(params, "expires_at")
    if expires_at is not None and expires_at <= now:
        raise invalid("expires_at must be in the future.", "expires_at")
    promo = {
        "id": new_id("promo_"),
        "object": "promotion_code",
        "active": active,
        "code": code,
        "created": now,
        "customer": None,
        "customer_account": None,
        "expires_at": expires_at,
        "livemode": False,
        "max_redemptions": as_int(params, "max_redemptions"),
        "metadata": merge_metadata({}, params.get("metadata", {})),
        "promotion": {"type": "coupon", "coupon": coupon["id"]},
        "restrictions": {
            "first_time_transaction": False,
            "minimum_amount": None,
            "minimum_amount_currency": None,
        },
        "times_redeemed": 0,
    }
    ctx.store.put(promo)
    ctx.emit("promotion_code.created", render(ctx, promo), created=now)
    return render(ctx, promo, expand_paths(params))


@route("GET", "/v1/promotion_codes/{promo_id}")
def retrieve_promotion_code(ctx: Ctx, params: dict[str, Any], promo_id: str) -> dict[str, Any]:
    return render(ctx, get_promotion_code(ctx, promo_id, "id"), expand_paths(params))


@route("POST", "/v1/promotion_codes/{promo_id}", params="active metadata !restrictions")
def update_promotion_code(ctx: Ctx, params: dict[str, Any], promo_id: str) -> dict[str, Any]:
    promo = get_promotion_code(ctx, promo_id, "id")
    if "active" in params:
        active = bool(as_bool(params, "active"))
        if active and not promo["active"] and _code_taken(ctx, promo["code"]):
            raise invalid(
                f"An active promotion code with `code: {promo['code']}` already exists.", "active"
            )
        promo["active"] = active
    if "metadata" in params:
        promo["metadata"] = merge_metadata(promo["metadata"], params["metadata"])
    ctx.emit("promotion_code.updated", render(ctx, promo))
    return render(ctx, promo, expand_paths(params))


@route(
    "GET",
    "/v1/promotion_codes",
    params="code active coupon created limit starting_after ending_before !customer",
)
def list_promotion_codes(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = created_filter(ctx.store.all("promotion_codes"), params)
    if params.get("code"):  # case-insensitive, as Stripe documents
        records = [p for p in records if p["code"].lower() == str(params["code"]).lower()]
    if "active" in params:
        records = [p for p in records if p["active"] == as_bool(params, "active")]
    if params.get("coupon"):
        records = [p for p in records if p["promotion"]["coupon"] == params["coupon"]]
    return page(ctx, records, params, "/v1/promotion_codes")


# -- discounts on subscriptions -----------------------------------------------------------------


def _redeemable_promotion(ctx: Ctx, promo: dict[str, Any], param: str) -> dict[str, Any]:
    expired = promo["expires_at"] is not None and ctx.now() >= promo["expires_at"]
    limit = promo["max_redemptions"]
    if not promo["active"] or expired or (limit is not None and promo["times_redeemed"] >= limit):
        raise invalid(f"This promotion code cannot be redeemed: {promo['code']}", param)
    return get_coupon(ctx, promo["promotion"]["coupon"], param)


Chosen = list[str | tuple[dict[str, Any], dict[str, Any] | None]]


def resolve_discounts(
    ctx: Ctx, value: Any, currency: str, current: list[str] | None = None
) -> Chosen:
    """Check a ``discounts`` parameter before anything changes: a kept discount's id, or the
    (coupon, promotion code) to redeem, per entry."""
    entries = [] if value == "" else as_list({"d": value}, "d")
    chosen: Chosen = []
    coupons_seen: set[str] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or len([k for k in entry if entry[k]]) != 1:
            raise invalid(
                "Each discount needs exactly one of coupon, promotion_code or discount.",
                f"discounts[{i}]",
            )
        if entry.get("discount"):
            if entry["discount"] not in (current or []):
                raise not_found("discount", str(entry["discount"]), f"discounts[{i}][discount]")
            chosen.append(entry["discount"])
            coupons_seen.add(str(_discount_coupon(ctx, entry["discount"])))
            continue
        promo = None
        if entry.get("promotion_code"):
            param = f"discounts[{i}][promotion_code]"
            promo = get_promotion_code(ctx, entry["promotion_code"], param)
            coupon = _redeemable_promotion(ctx, promo, param)
        else:
            param = f"discounts[{i}][coupon]"
            coupon = get_coupon(ctx, entry.get("coupon"), param)
            if not _valid(ctx, coupon):
                raise invalid(f"Coupon expired: {coupon['id']}", param, "coupon_expired")
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            raise invalid(
                f"The coupon's currency ({coupon['currency']}) must match the subscription's "
                f"({currency}).",
                param,
            )
        if coupon["id"] in coupons_seen:
            raise invalid("The same coupon cannot be applied twice.", param)
        coupons_seen.add(coupon["id"])
        chosen.append((coupon, promo))
    return chosen


def apply_discounts(ctx: Ctx, sub: dict[str, Any], chosen: Chosen, at: int) -> None:
    """Set a subscription's ``discounts`` (the list replaces the current one; "" clears it)."""
    sub["discounts"] = [
        entry if isinstance(entry, str) else _new_discount(ctx, sub, *entry, at)["id"]
        for entry in chosen
    ]


def _discount_coupon(ctx: Ctx, discount_id: str) -> str | None:
    discount = ctx.store.get(discount_id)
    return discount["source"]["coupon"] if discount else None


def discount_record(
    customer: str, coupon: dict[str, Any], promo: dict[str, Any] | None, at: int
) -> dict[str, Any]:
    """A discount object of a coupon (and the promotion code it came through), for no
    subscription yet (a quote's discount)."""
    return {
        "id": new_id("di_"),
        "object": "discount",
        "checkout_session": None,
        "customer": customer,
        "customer_account": None,
        "end": None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": promo["id"] if promo else None,
        "source": {"type": "coupon", "coupon": coupon["id"]},
        "start": at,
        "subscription": None,
        "subscription_item": None,
        "_once": coupon["duration"] == "once",
    }


def _new_discount(
    ctx: Ctx, sub: dict[str, Any], coupon: dict[str, Any], promo: dict[str, Any] | None, at: int
) -> dict[str, Any]:
    discount = discount_record(sub["customer"], coupon, promo, at)
    discount["subscription"] = sub["id"]
    if coupon["duration"] == "repeating":
        discount["end"] = add_months(at, coupon["duration_in_months"])
    ctx.store.put(discount)
    if not ctx.preview:  # a preview's fork shares these records with the real store
        coupon["times_redeemed"] += 1
        if promo is not None:
            promo["times_redeemed"] += 1
    return discount


def discount_lines(ctx: Ctx, invoice: dict[str, Any], sub: dict[str, Any] | None) -> None:
    """Apply the subscription's discounts to the invoice's lines and totals (to the cent)."""
    if sub is None or not sub.get("discounts"):
        return
    lines = invoice["lines"]["data"]
    remaining = {line["id"]: line["amount"] for line in lines if line["discountable"]}
    totals: dict[str, int] = {}
    applied: list[str] = []
    for discount_id in sub["discounts"]:
        discount = ctx.store.get(discount_id)
        if discount is None:
            continue
        if discount["end"] is not None and invoice["created"] >= discount["end"]:
            if not ctx.preview:  # a repeating coupon that ran out leaves the subscription
                sub["discounts"] = [d for d in sub["discounts"] if d != discount_id]
            continue
        coupon = coupon_of(ctx, discount["source"]["coupon"])
        if coupon is None:
            continue
        amounts = spread(coupon, remaining, [line["id"] for line in lines])
        for line in lines:
            amount = amounts.get(line["id"], 0)
            if line["id"] not in remaining:
                continue
            line["discounts"].append(discount_id)
            line["discount_amounts"].append({"amount": amount, "discount": discount_id})
            remaining[line["id"]] -= amount
        totals[discount_id] = sum(amounts.values())
        applied.append(discount_id)
    if not applied:
        return
    invoice["discounts"] = applied
    invoice["total_discount_amounts"] = [{"amount": totals[d], "discount": d} for d in applied]
    total = invoice["subtotal"] - sum(totals.values())
    invoice["total"] = invoice["total_excluding_tax"] = total
    invoice["amount_due"] = invoice["amount_remaining"] = max(0, total)
    if not ctx.preview and sum(totals.values()) > 0:
        for discount_id in applied:  # "once": the first invoice it takes money off
            discount = ctx.store.get(discount_id)
            if discount is not None and discount["_once"] and totals[discount_id] > 0:
                sub["discounts"] = [d for d in sub["discounts"] if d != discount_id]
                discount["end"] = invoice["created"]


def spread(coupon: dict[str, Any], remaining: dict[str, int], order: list[str]) -> dict[str, int]:
    """A coupon's amount per line id, taken from what is left of each line."""
    ids = [i for i in order if i in remaining and remaining[i] > 0]
    if coupon["percent_off"] is not None:
        rate = Fraction(str(coupon["percent_off"])) / 100
        out = {}
        for i in ids:
            exact = remaining[i] * rate
            out[i] = min(
                remaining[i], int(exact + Fraction(1, 2))
            )  # half up (amounts are positive)
        return out
    base = sum(remaining[i] for i in ids)
    total = min(coupon["amount_off"], base)
    if base == 0:
        return {}
    shares = {i: Fraction(total * remaining[i], base) for i in ids}
    out = {i: int(shares[i]) for i in ids}
    left = total - sum(out.values())
    for i in sorted(ids, key=lambda k: (-(shares[k] - out[k]), order.index(k)))[:left]:
        out[i] += 1
    return out


def describe(coupon: dict[str, Any]) -> str:
    """ "Retention (25% off)", as Stripe's invoice shows a discount."""
    if coupon["percent_off"] is not None:
        off = f"{coupon['percent_off']}% off"
    else:
        off = f"{coupon['amount_off'] / 100:,.2f} {coupon['currency'].upper()} off"
    return f"{coupon['name'] or coupon['id']} ({off})"


def discount_rows(ctx: Ctx, invoice: dict[str, Any]) -> list[tuple[str, int]]:
    """(label, amount) per discount of a rendered invoice, for its hosted page and PDF."""
    rows = []
    for entry in invoice.get("total_discount_amounts") or []:
        discount = ctx.store.get(entry["discount"])
        coupon = coupon_of(ctx, discount["source"]["coupon"]) if discount else None
        rows.append((describe(coupon) if coupon else "Discount", entry["amount"]))
    return rows
