"""Subscription lifecycle: create, update with prorations, renew, end trials, cancel."""

from __future__ import annotations

from typing import Any

from ..errors import StripeError, invalid, missing, not_found
from ..render import render
from ..store import Ctx
from ..util import (
    add_interval,
    as_bool,
    as_dict,
    as_int,
    as_list,
    clone,
    fmt_date,
    merge_metadata,
    new_id,
    round_half_up,
)
from . import coupons, invoicing, payment_methods
from .catalog import get_price
from .customers import get_customer

DAY = 86400
PRORATION_BEHAVIORS = ("create_prorations", "none", "always_invoice")
PAYMENT_BEHAVIORS = (
    "allow_incomplete",
    "error_if_incomplete",
    "default_incomplete",
    "pending_if_incomplete",
)
LIVE = ("active", "past_due", "unpaid", "trialing")


def cadence(price: dict[str, Any]) -> tuple[str, int]:
    recurring = price["recurring"]
    if not recurring:
        raise invalid(
            f"The price specified ({price['id']}) is not a recurring price; subscriptions need "
            "recurring prices.",
            "items",
        )
    return recurring["interval"], recurring["interval_count"]


def _compatible(prices: list[dict[str, Any]]) -> tuple[str, int, str]:
    cadences = {cadence(p) for p in prices}
    currencies = {p["currency"] for p in prices}
    if len(cadences) > 1 or len(currencies) > 1:
        raise invalid(
            "Currency and interval fields must match across all plans on this subscription.",
            "items",
        )
    (interval, count), currency = cadences.pop(), currencies.pop()
    return interval, count, currency


def items_of(ctx: Ctx, sub: dict[str, Any]) -> list[dict[str, Any]]:
    return [ctx.store.get(i) for i in sub["_items"]]  # type: ignore[misc]


def _set_period(ctx: Ctx, sub: dict[str, Any], anchor: int, cycle: int) -> None:
    price = ctx.store.get(items_of(ctx, sub)[0]["price"])
    assert price is not None
    interval, count = cadence(price)
    sub["_anchor"], sub["_cycle"] = anchor, cycle
    sub["billing_cycle_anchor"] = anchor
    sub["_period"] = [
        add_interval(anchor, interval, count, cycle),
        add_interval(anchor, interval, count, cycle + 1),
    ]


def _new_item(ctx: Ctx, sub: dict[str, Any], entry: dict[str, Any], at: int) -> dict[str, Any]:
    price = get_price(ctx, entry.get("price"), "items[price]")
    quantity = as_int(entry, "quantity", 1)
    if quantity is None or quantity < 0:
        raise invalid("Invalid quantity: must be a non-negative integer", "items[quantity]")
    item = {
        "id": new_id("si_", 14),
        "object": "subscription_item",
        "created": at,
        "discounts": [],
        "metadata": merge_metadata({}, entry.get("metadata", {})),
        "price": price["id"],
        "quantity": quantity,
        "subscription": sub["id"],
        "tax_rates": [],
        "billing_thresholds": None,
    }
    return ctx.store.put(item)


def _trial_end(params: dict[str, Any], now: int) -> int | None:
    value = params.get("trial_end")
    if value == "now":
        return None
    if value:
        end = as_int(params, "trial_end")
        if end <= now:
            raise invalid("Invalid timestamp: must be in the future", "trial_end")
        return end
    days = as_int(params, "trial_period_days")
    return now + days * DAY if days else None


def _rollback_point(ctx: Ctx, behaviour: str) -> dict[str, Any] | None:
    if ctx.preview or behaviour not in ("error_if_incomplete", "pending_if_incomplete"):
        return None
    return clone(ctx.store.data)


def _rollback(ctx: Ctx, snapshot: dict[str, Any] | None, error: StripeError | None) -> None:
    if snapshot is None:
        return
    # Events are stored only when a request commits: the live collection holds no event of this
    # request, and its delivery state (pending_webhooks) moved on since the snapshot.
    snapshot["events"] = ctx.store.data["events"]
    ctx.store.data = snapshot
    ctx.events.clear()
    raise error or invalid(
        "This customer has no attached payment source or default payment method."
    )


def _check_billing_mode(params: dict[str, Any]) -> None:
    """Only `classic` is modelled: asked for, it is what the subscription gets anyway. Stripe's
    flexible mode (its default since 2025-09-30.clover,
    https://docs.stripe.com/changelog/clover/2025-09-30/billing-mode-default-flexible) credits
    prorations per original debit (https://docs.stripe.com/billing/subscriptions/billing-mode/compare),
    which the sandbox does not: refused."""
    mode = as_dict(params, "billing_mode")
    if not mode:
        return
    kind = mode.get("type")
    if not kind:
        raise missing("billing_mode[type]")
    if kind == "flexible":
        raise invalid(
            "The sandbox does not support billing_mode[type]=flexible (Stripe does; see the "
            "sandbox README's known differences): its subscriptions bill in classic mode.",
            "billing_mode[type]",
        )
    if kind != "classic":
        raise invalid("billing_mode[type] must be `classic` or `flexible`.", "billing_mode[type]")


def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("customer"):
        raise missing("customer")
    customer = get_customer(ctx, params["customer"])
    entries = as_list(params, "items")
    if not entries:
        raise missing("items")
    prices = [get_price(ctx, e.get("price"), f"items[{i}][price]") for i, e in enumerate(entries)]
    if len({p["id"] for p in prices}) < len(prices):
        raise invalid("Cannot add multiple subscription items with the same price.", "items")
    _, _, currency = _compatible(prices)
    if params.get("currency") and str(params["currency"]).lower() != currency:
        raise invalid(
            f"The price currency ({currency}) does not match the subscription's currency "
            f"({params['currency']}).",
            "currency",
        )
    behaviour = params.get("payment_behavior") or "allow_incomplete"
    if behaviour not in PAYMENT_BEHAVIORS:
        raise invalid(f"Invalid payment_behavior: {behaviour}", "payment_behavior")
    chosen = (
        coupons.resolve_discounts(ctx, params["discounts"], currency)
        if "discounts" in params
        else None
    )
    _check_billing_mode(params)
    method = params.get("collection_method") or "charge_automatically"
    if method not in ("charge_automatically", "send_invoice"):
        raise invalid("Invalid collection_method", "collection_method")
    if method == "send_invoice" and not as_int(params, "days_until_due"):
        raise invalid(
            "Missing required param: days_until_due (required with collection_method "
            "send_invoice).",
            "days_until_due",
            "parameter_missing",
        )
    snapshot = _rollback_point(ctx, behaviour)
    now = ctx.now(customer["test_clock"])
    pm_id = None
    if params.get("default_payment_method"):
        pm_id = payment_methods.require_attached(
            ctx, params["default_payment_method"], customer["id"]
        )["id"]
    trial_end = _trial_end(params, now)
    settings = as_dict(params, "payment_settings")
    sub = {
        "id": new_id("sub_"),
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "cancel_at": None,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": params.get("collection_method") or "charge_automatically",
        "created": now,
        "currency": currency,
        "customer": customer["id"],
        "days_until_due": as_int(params, "days_until_due"),
        "default_payment_method": pm_id,
        "default_source": None,
        "default_tax_rates": [],
        "description": params.get("description") or None,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {
            "account_tax_ids": None,
            "issuer": {"type": "self"},
            "custom_fields": None,
            "description": None,
            "footer": None,
        },
        "latest_invoice": None,
        "livemode": False,
        "metadata": merge_metadata({}, params.get("metadata", {})),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": settings.get("save_default_payment_method") or "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "trialing" if trial_end else "incomplete",
        "test_clock": customer["test_clock"],
        "transfer_data": None,
        "trial_end": trial_end,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": now if trial_end else None,
        "cancel_at_period_end": False,
        "billing_thresholds": None,
        "billing_mode": {"type": "classic", "flexible": None},
        "customer_account": None,
        "managed_payments": None,
        "billing_schedules": [],
        "_items": [],
        "_anchor": now,
        "_cycle": 0,
        "_period": [now, now],
        "_twe_sent": False,
        "_creating": True,
    }
    ctx.store.put(sub)
    sub["_items"] = [_new_item(ctx, sub, entry, now)["id"] for entry in entries]
    if trial_end:
        sub["_anchor"] = sub["billing_cycle_anchor"] = trial_end
        sub["_period"] = [now, trial_end]
    else:
        _set_period(ctx, sub, now, 0)
    _apply_cancel_params(ctx, sub, params)
    if chosen is not None:
        coupons.apply_discounts(ctx, sub, chosen, now)
    if customer["currency"] is None:
        customer["currency"] = currency
    mark = len(ctx.events)
    period = (sub["_period"][0], sub["_period"][1])
    lines = [
        invoicing.item_line(ctx, sub, it, period, trial=bool(trial_end))
        for it in items_of(ctx, sub)
    ]
    invoice = invoicing.create_invoice(
        ctx, customer, sub=sub, billing_reason="subscription_create", lines=lines, period=(now, now)
    )
    sub["latest_invoice"] = invoice["id"]
    invoicing.finalize(ctx, invoice)
    if invoice["status"] == "paid" and not trial_end:
        sub["status"] = "active"
    elif invoice["status"] == "open" and invoicing.invoiced(invoice):
        sub["status"] = "active"  # Stripe: active at once; the customer pays by the due date
    elif invoice["status"] == "open" and behaviour == "default_incomplete":
        _await_confirmation(ctx, invoice)
    elif invoice["status"] == "open":
        error = invoicing.collect(
            ctx, invoice, off_session=bool(as_bool(params, "off_session", False))
        )
        if invoice["status"] != "paid":
            _rollback(ctx, snapshot, error)
    sub["_creating"] = False
    if not ctx.preview:
        ctx.emit("customer.subscription.created", render(ctx, sub), created=now)
        ctx.events.insert(mark, ctx.events.pop())
    return sub


def _await_confirmation(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """default_incomplete: no charge now; the PaymentIntent waits for the browser."""
    pi = ctx.store.get(invoice["_pi"])
    if pi is None or ctx.preview:
        return
    pm = ctx.store.get(pi["payment_method"]) if pi["payment_method"] else None
    if pm is not None and pm["_behaviour"] == "authenticate":
        pi["status"] = "requires_action"
        pi["next_action"] = {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "stripe_js": f"{ctx.base_url}/_sandbox/3ds/{pi['id']}",
            },
        }


def _apply_cancel_params(ctx: Ctx, sub: dict[str, Any], params: dict[str, Any]) -> None:
    """`cancel_at_period_end` / `cancel_at`. Stripe sets `canceled_at` to the time of the request
    that scheduled the cancellation (not the period end) and clears it on a resume
    (https://docs.stripe.com/api/subscriptions/object#subscription_object-canceled_at)."""
    scheduled_before = sub["cancel_at"] is not None
    if "cancel_at_period_end" in params:
        flag = bool(as_bool(params, "cancel_at_period_end", False))
        sub["cancel_at_period_end"] = flag
        sub["cancel_at"] = sub["_period"][1] if flag else None
    if "cancel_at" in params:
        value = params["cancel_at"]
        sub["cancel_at"] = (
            sub["_period"][1] if value == "max_period_end" else as_int(params, "cancel_at")
        )
        sub["cancel_at_period_end"] = sub["cancel_at"] == sub["_period"][1]
    if "cancel_at_period_end" in params or "cancel_at" in params:
        if sub["cancel_at"] is None:
            sub["canceled_at"] = None
        elif not scheduled_before or sub["canceled_at"] is None or "cancel_at" in params:
            sub["canceled_at"] = ctx.time_for(sub)
    details = as_dict(params, "cancellation_details")
    for key in ("comment", "feedback"):
        if key in details:
            sub["cancellation_details"][key] = details[key] or None


def _apply_items(
    ctx: Ctx, sub: dict[str, Any], entries: list[dict[str, Any]], at: int
) -> list[tuple[str, tuple[str, int] | None, tuple[str, int] | None]]:
    """Apply ``items`` changes; returns (item id, old (price, qty), new (price, qty)) per change."""
    changes = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise invalid("Invalid items", "items")
        item_id = entry.get("id")
        if item_id:
            item = ctx.store.get(item_id)
            if (
                not item
                or item["object"] != "subscription_item"
                or item["subscription"] != sub["id"]
            ):
                raise not_found("subscription_item", item_id, f"items[{i}][id]")
            old = (item["price"], item["quantity"])
            if as_bool(entry, "deleted", False):
                sub["_items"].remove(item_id)
                ctx.store.delete(item_id)
                changes.append((item_id, old, None))
                continue
            if entry.get("price"):
                item["price"] = get_price(ctx, entry["price"], f"items[{i}][price]")["id"]
            if "quantity" in entry:
                quantity = as_int(entry, "quantity")
                if quantity is None or quantity < 0:
                    raise invalid("Invalid quantity", f"items[{i}][quantity]")
                item["quantity"] = quantity
            if "metadata" in entry:
                item["metadata"] = merge_metadata(item["metadata"], entry["metadata"])
            new = (item["price"], item["quantity"])
            if new != old:
                changes.append((item_id, old, new))
        else:
            if not entry.get("price"):
                raise missing(f"items[{i}][price]")
            if any(ctx.store.get(x)["price"] == entry["price"] for x in sub["_items"]):  # type: ignore[index]
                raise invalid(
                    "Cannot add multiple subscription items with the same price.", "items"
                )
            item = _new_item(ctx, sub, entry, at)
            sub["_items"].append(item["id"])
            changes.append((item["id"], None, (item["price"], item["quantity"])))
    if not sub["_items"]:
        raise invalid("A subscription must have at least one active item.", "items")
    _compatible([ctx.store.get(ctx.store.get(x)["price"]) for x in sub["_items"]])  # type: ignore
    return changes


def prorate(
    ctx: Ctx,
    sub: dict[str, Any],
    customer: dict[str, Any],
    item_id: str,
    old: tuple[str, int] | None,
    new: tuple[str, int] | None,
    at: int,
) -> None:
    """Stripe's per-second proration: credit the unused old amount, debit the remaining new one."""
    start, end = sub["_period"]
    span, left = end - start, min(max(end - at, 0), end - start)
    if span <= 0 or left <= 0:
        return
    for sign, side, label in ((-1, old, "Unused time on"), (1, new, "Remaining time on")):
        if side is None or side[1] == 0:
            continue
        price = ctx.store.get(side[0])
        assert price is not None
        amount = sign * round_half_up(price["unit_amount"] * side[1] * left, span)
        name = invoicing.product_name(ctx, price)
        invoicing.new_invoice_item(
            ctx,
            customer,
            price=price,
            amount=amount,
            quantity=side[1],
            description=f"{label} {side[1]} × {name} after {fmt_date(at)}",
            period=(at, end),
            proration=True,
            sub_id=sub["id"],
            item_id=item_id,
        )
