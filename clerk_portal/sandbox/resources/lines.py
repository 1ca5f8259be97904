"""Invoice lines and invoice items, in the current API's shape (``parent``, ``pricing``)."""

from __future__ import annotations

from typing import Any

from ..render import render
from ..store import Ctx
from ..util import fmt_money, new_id


def interval_label(price: dict[str, Any]) -> str:
    recurring = price["recurring"] or {}
    count, interval = recurring.get("interval_count", 1), recurring.get("interval", "")
    return f"every {count} {interval}s" if count > 1 else interval


def product_name(ctx: Ctx, price: dict[str, Any]) -> str:
    product = ctx.store.get(price["product"])
    return product["name"] if product else price["product"]


def pricing(price: dict[str, Any], unit_amount_decimal: str) -> dict[str, Any]:
    return {
        "type": "price_details",
        "price_details": {"price": price["id"], "product": price["product"]},
        "unit_amount_decimal": unit_amount_decimal,
    }


def _line(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    description: str,
    period: tuple[int, int],
    quantity: int,
    price: dict[str, Any],
    unit_amount_decimal: str,
    sub_id: str | None,
    item_id: str | None,
    invoice_item: str | None,
    proration: bool,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    if item_id:
        parent = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": invoice_item,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": sub_id,
                "subscription_item": item_id,
            },
        }
    else:
        parent = {
            "type": "invoice_item_details",
            "invoice_item_details": {
                "invoice_item": invoice_item,
                "proration": proration,
                "proration_details": {"credited_items": None},
                "subscription": sub_id,
            },
            "subscription_item_details": None,
        }
    return {
        "id": new_id("il_tmp_" if ctx.preview else "il_"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "period": {"start": period[0], "end": period[1]},
        "quantity": quantity,
        "subscription": sub_id,
        "pretax_credit_amounts": [],
        "taxes": [],
        "parent": parent,
        "pricing": pricing(price, unit_amount_decimal),
        "subtotal": amount,
        "quantity_decimal": str(quantity),
    }


def item_line(
    ctx: Ctx,
    sub: dict[str, Any],
    item: dict[str, Any],
    period: tuple[int, int],
    *,
    trial: bool = False,
) -> dict[str, Any]:
    """The line for one subscription item over a whole period (or a free trial)."""
    price = ctx.store.get(item["price"])
    assert price is not None
    name = product_name(ctx, price)
    qty = item["quantity"]
    if trial:
        amount, description = 0, f"Trial period for {name}"
    else:
        amount = price["unit_amount"] * qty
        unit = fmt_money(price["unit_amount"], price["currency"])
        description = f"{qty} × {name} (at {unit} / {interval_label(price)})"
    return _line(
        ctx,
        amount=amount,
        currency=price["currency"],
        description=description,
        period=period,
        quantity=qty,
        price=price,
        unit_amount_decimal="0" if trial else price["unit_amount_decimal"],
        sub_id=sub["id"],
        item_id=item["id"],
        invoice_item=None,
        proration=False,
        metadata=item["metadata"],
    )


def invoice_item_line(ctx: Ctx, ii: dict[str, Any]) -> dict[str, Any]:
    price = ctx.store.get(ii["pricing"]["price_details"]["price"]) or {"id": None, "product": None}
    parent = ii["parent"] or {}
    details = parent.get("subscription_details") or {}
    line = _line(
        ctx,
        amount=ii["amount"],
        currency=ii["currency"],
        description=ii["description"],
        period=(ii["period"]["start"], ii["period"]["end"]),
        quantity=ii["quantity"],
        price=price,
        unit_amount_decimal=ii["pricing"]["unit_amount_decimal"],
        sub_id=details.get("subscription"),
        item_id=details.get("subscription_item"),
        invoice_item=ii["id"],
        proration=ii["proration"],
    )
    line["discountable"] = ii["discountable"]  # prorations are not discounted
    return line


def new_invoice_item(
    ctx: Ctx,
    customer: dict[str, Any],
    *,
    price: dict[str, Any],
    amount: int,
    quantity: int,
    description: str,
    period: tuple[int, int],
    proration: bool,
    sub_id: str | None = None,
    item_id: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    at = ctx.time_for(customer)
    unit = f"{amount / quantity:.10f}".rstrip("0").rstrip(".") if quantity else str(amount)
    ii = {
        "id": new_id("ii_"),
        "object": "invoiceitem",
        "amount": amount,
        "currency": price["currency"],
        "customer": customer["id"],
        "date": at,
        "description": description,
        "discountable": not proration,
        "discounts": [],
        "invoice": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "period": {"start": period[0], "end": period[1]},
        "proration": proration,
        "quantity": quantity,
        "tax_rates": [],
        "test_clock": customer["test_clock"],
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": sub_id, "subscription_item": item_id},
        }
        if sub_id
        else None,
        "pricing": pricing(price, unit),
        "net_amount": amount,
        "customer_account": None,
        "quantity_decimal": str(quantity),
    }
    ctx.store.put(ii)
    ctx.emit("invoiceitem.created", render(ctx, ii), created=at)
    return ii
