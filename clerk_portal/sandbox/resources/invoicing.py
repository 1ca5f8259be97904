"""The invoice engine: building lines and invoices, finalising, collecting payment."""

from __future__ import annotations

from typing import Any

from ..errors import StripeError
from ..render import render
from ..store import Ctx
from ..util import clone, new_id
from . import coupons, payment_intents
from .lines import invoice_item_line, item_line, new_invoice_item, pricing, product_name

__all__ = ["item_line", "new_invoice_item", "pricing", "product_name"]

DAY = 86400
# How long a renewal invoice stays a draft before it is finalized and charged ("about an hour
# after the invoice.created event", https://docs.stripe.com/billing/subscriptions/webhooks).
FINALIZATION_GRACE = 3600


def pending_items(ctx: Ctx, customer_id: str, sub_id: str | None) -> list[dict[str, Any]]:
    """Pending invoice items of a customer; with ``sub_id`` only that subscription's."""
    found = []
    for ii in ctx.store.all("invoiceitems"):
        if ii["customer"] != customer_id or ii["invoice"]:
            continue
        parent_sub = ((ii["parent"] or {}).get("subscription_details") or {}).get("subscription")
        if sub_id is None or parent_sub == sub_id:
            found.append(ii)
    return found


def create_invoice(
    ctx: Ctx,
    customer: dict[str, Any],
    *,
    sub: dict[str, Any] | None,
    billing_reason: str,
    lines: list[dict[str, Any]],
    period: tuple[int, int],
    include_pending: bool = True,
) -> dict[str, Any]:
    """A draft invoice with ``lines`` plus pending invoice items (prorations first, as Stripe)."""
    created = ctx.time_for(customer)
    invoice_id = new_id("in_")
    items = (
        pending_items(ctx, customer["id"], sub["id"] if sub else None) if include_pending else []
    )
    all_lines = [invoice_item_line(ctx, ii) for ii in items] + lines
    for ii in items:
        ii["invoice"] = invoice_id
    for line in all_lines:
        line["invoice"] = invoice_id
    subtotal = sum(line["amount"] for line in all_lines)
    invoice = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Clerk Chat",
        "account_tax_ids": None,
        "amount_due": max(0, subtotal),
        "amount_paid": 0,
        "amount_remaining": max(0, subtotal),
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 0,
        "attempted": False,
        "auto_advance": True,
        "automatic_tax": {
            "enabled": False,
            "liability": None,
            "status": None,
            "disabled_reason": None,
            "provider": None,
        },
        "billing_reason": billing_reason,
        "collection_method": sub["collection_method"] if sub else "charge_automatically",
        "created": created,
        "currency": sub["currency"] if sub else "usd",
        # copied from the customer's invoice settings when the invoice is created
        "custom_fields": clone(customer["invoice_settings"].get("custom_fields")) or None,
        "_days_until_due": sub["days_until_due"] if sub else None,
        "customer": customer["id"],
        "customer_address": customer["address"],
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": customer["shipping"],
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": None,
        "ending_balance": None,
        "footer": customer["invoice_settings"].get("footer") or None,
        "from_invoice": None,
        "hosted_invoice_url": None,
        "invoice_pdf": None,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": all_lines,
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": None,
        "on_behalf_of": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period[1],
        "period_start": period[0],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": customer["balance"],
        "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        "subscription": sub["id"] if sub else None,
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal,
        "test_clock": customer["test_clock"],
        "total": subtotal,
        "total_discount_amounts": [],
        "total_excluding_tax": subtotal,
        "webhooks_delivered_at": None,
        "automatically_finalizes_at": None,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "amount_overpaid": 0,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": dict(sub["metadata"]), "subscription": sub["id"]},
        }
        if sub
        else None,
        "customer_account": None,
        "_pi": None,
        "_first_failed_at": None,
        "_retries_done": 0,
    }
    coupons.discount_lines(ctx, invoice, sub)
    _apply_balance(invoice, customer, commit=False)
    ctx.store.put(invoice)
    ctx.emit("invoice.created", render(ctx, invoice), created=created)
    return invoice


def _apply_balance(invoice: dict[str, Any], customer: dict[str, Any], *, commit: bool) -> None:
    """Customer credit (negative balance) pays first; a negative total becomes credit."""
    balance, total = customer["balance"], invoice["total"]
    invoice["starting_balance"] = balance
    if total < 0:
        due, ending = 0, balance + total
    else:
        applied = min(total, -balance) if balance < 0 else 0
        due, ending = total - applied, balance + applied
    invoice["amount_due"] = invoice["amount_remaining"] = due
    if commit:
        invoice["ending_balance"] = ending
        customer["balance"] = ending


def customer_details(ctx: Ctx, customer: dict[str, Any]) -> dict[str, Any]:
    """The invoice's copy of the customer: it follows the customer until the invoice is
    finalized, then stays as it was (https://docs.stripe.com/api/invoices/object#invoice_object-customer_address)."""
    from .tax_ids import of_customer

    return {
        "customer_address": clone(customer["address"]),
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "customer_shipping": clone(customer["shipping"]),
        "customer_tax_exempt": customer["tax_exempt"],
        "customer_tax_ids": [
            {"type": t["type"], "value": t["value"]} for t in of_customer(ctx, customer["id"])
        ],
    }


def finalize(ctx: Ctx, invoice: dict[str, Any], *, use_balance: bool = True) -> None:
    """draft -> open (number, PaymentIntent); a $0 invoice is paid at once. No-op in previews.
    `use_balance` False: the customer's credit balance is left alone (an invoice to void)."""
    from .customers import take_invoice_number

    if ctx.preview or invoice["status"] != "draft":
        return
    customer = ctx.store.get(invoice["customer"])
    assert customer is not None
    at = ctx.time_for(customer)
    if use_balance:
        _apply_balance(invoice, customer, commit=True)
    else:
        invoice["amount_due"] = invoice["amount_remaining"] = max(0, invoice["total"])
        invoice["starting_balance"] = invoice["ending_balance"] = customer["balance"]
    invoice.update(customer_details(ctx, customer))  # frozen from now on
    invoice["number"] = take_invoice_number(customer)
    invoice["status"] = "open"
    invoice["automatically_finalizes_at"] = None
    invoice["effective_at"] = at
    invoice["status_transitions"]["finalized_at"] = at
    invoice["webhooks_delivered_at"] = at
    if invoice["collection_method"] == "send_invoice":
        days = invoice.get("_days_until_due") or 30
        invoice["due_date"] = at + days * DAY
    if invoice["amount_due"] > 0:
        pi = payment_intents.new_intent(
            ctx,
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            customer=customer["id"],
            payment_method=payment_method_for(ctx, invoice),
            description=_pi_description(invoice["billing_reason"]),
            invoice=invoice,
        )
        invoice["_pi"] = pi["id"]
    ctx.emit("invoice.finalized", render(ctx, invoice), created=at)
    if invoice["amount_due"] == 0:
        mark_paid(ctx, invoice, None)
    elif invoice["collection_method"] == "send_invoice" and invoice["auto_advance"]:
        send(ctx, invoice)  # Stripe emails it with payment instructions


def auto_finalize(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """A draft whose `automatically_finalizes_at` came: finalized, then charged (a
    `send_invoice` one is sent instead, see `finalize`)."""
    finalize(ctx, invoice)
    if invoice["status"] == "open" and not invoiced(invoice):
        collect(ctx, invoice, off_session=True)


def invoiced(invoice: dict[str, Any]) -> bool:
    """A `send_invoice` invoice: the customer pays it (hosted page, bank transfer); Stripe never
    charges it on its own (https://docs.stripe.com/billing/collection-method)."""
    return invoice["collection_method"] == "send_invoice"


def send(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """`invoice.sent` (the email Stripe sends; the sandbox sends none)."""
    ctx.emit("invoice.sent", render(ctx, invoice), created=ctx.time_for(invoice))


def overdue(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """An open `send_invoice` invoice past its due date: `invoice.overdue`, and its subscription
    becomes `past_due` (https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses)."""
    from ..store import diff

    invoice["_overdue"] = True
    at = ctx.time_for(invoice)
    ctx.emit("invoice.overdue", render(ctx, invoice), created=at)
    sub = ctx.store.get(invoice["subscription"]) if invoice["subscription"] else None
    if sub and sub["status"] == "active":
        before = render(ctx, sub)
        sub["status"] = "past_due"
        after = render(ctx, sub)
        ctx.emit("customer.subscription.updated", after, diff(before, after), created=at)


def _pi_description(reason: str) -> str:
    return {
        "subscription_create": "Subscription creation",
        "subscription_cycle": "Subscription cycle",
        "subscription_update": "Subscription update",
    }.get(reason, "Invoice payment")


def payment_method_for(ctx: Ctx, invoice: dict[str, Any]) -> str | None:
    if invoice["default_payment_method"]:
        return invoice["default_payment_method"]
    sub = ctx.store.get(invoice["subscription"]) if invoice["subscription"] else None
    if sub and sub["default_payment_method"]:
        return sub["default_payment_method"]
    customer = ctx.store.get(invoice["customer"])
    return customer["invoice_settings"]["default_payment_method"] if customer else None


def collect(
    ctx: Ctx,
    invoice: dict[str, Any],
    *,
    pm_id: str | None = None,
    off_session: bool = True,
    scheduled: bool = False,
) -> StripeError | None:
    """Try to pay an open invoice; on failure record the attempt and schedule the next retry."""
    if ctx.preview or invoice["status"] != "open" or invoice["amount_remaining"] == 0:
        return None
    if invoiced(invoice) and pm_id is None:
        return None  # only the customer pays it (or `pay` with a payment method)
    pi = ctx.store.get(invoice["_pi"])
    assert pi is not None
    if pi["status"] == "requires_payment_method" or pi["status"] == "requires_action":
        pi["status"] = "requires_confirmation"
    invoice["attempted"] = True
    invoice["attempt_count"] += 1
    pm_id = pm_id or payment_method_for(ctx, invoice)
    error = payment_intents.attempt(ctx, pi, pm_id, off_session=off_session)
    if invoice["status"] == "paid":
        return None
    at = ctx.time_for(invoice)
    if error is None and pi["status"] == "requires_action":
        ctx.emit("invoice.payment_action_required", render(ctx, invoice), created=at)
        return None
    _schedule_retry(ctx, invoice, at, scheduled)
    ctx.emit("invoice.payment_failed", render(ctx, invoice), created=at)
    if pi["status"] == "requires_action":
        ctx.emit("invoice.payment_action_required", render(ctx, invoice), created=at)
    from . import lifecycle

    lifecycle.after_failed_payment(ctx, invoice)
    return error


def _schedule_retry(ctx: Ctx, invoice: dict[str, Any], at: int, scheduled: bool) -> None:
    if invoice["billing_reason"] == "subscription_create":
        invoice["next_payment_attempt"] = None
        return
    if invoice["_first_failed_at"] is None:
        invoice["_first_failed_at"] = at
    elif scheduled:
        invoice["_retries_done"] += 1
    elif invoice["next_payment_attempt"]:
        return  # a manual attempt keeps the retry schedule
    days = ctx.store.settings["retry_days"]
    done = invoice["_retries_done"]
    invoice["next_payment_attempt"] = (
        invoice["_first_failed_at"] + int(days[done]) * DAY if done < len(days) else None
    )


def mark_paid(ctx: Ctx, invoice: dict[str, Any], pi: dict[str, Any] | None) -> None:
    at = ctx.time_for(invoice)
    invoice["status"] = "paid"
    invoice["attempted"] = True
    invoice["amount_paid"] = invoice["amount_due"]
    invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["paid_at"] = at
    if pi is not None:
        payment_intents.settle_payment(ctx, pi, at)
        invoice["attempt_count"] = max(invoice["attempt_count"], 1)
    rendered = render(ctx, invoice)
    ctx.emit("invoice.paid", rendered, created=at)
    ctx.emit("invoice.payment_succeeded", rendered, created=at)
    if pi is not None:
        for record in payment_intents.payments_of(ctx, invoice["id"]):
            if record["status"] == "paid":
                ctx.emit("invoice_payment.paid", render(ctx, record), created=at)
    from . import lifecycle

    lifecycle.after_paid(ctx, invoice, pi)


def mark_uncollectible(ctx: Ctx, invoice: dict[str, Any]) -> None:
    invoice["status"] = "uncollectible"
    invoice["next_payment_attempt"] = None
    invoice["auto_advance"] = False
    invoice["status_transitions"]["marked_uncollectible_at"] = ctx.time_for(invoice)
    ctx.emit("invoice.marked_uncollectible", render(ctx, invoice))


def void(ctx: Ctx, invoice: dict[str, Any]) -> None:
    at = ctx.time_for(invoice)
    invoice["status"] = "void"
    invoice["amount_remaining"] = 0
    invoice["next_payment_attempt"] = None
    invoice["status_transitions"]["voided_at"] = at
    pi = ctx.store.get(invoice["_pi"]) if invoice["_pi"] else None
    if pi and pi["status"] != "succeeded":
        pi["status"], pi["canceled_at"], pi["next_action"] = "canceled", at, None
        pi["cancellation_reason"] = "void_invoice"
    ctx.emit("invoice.voided", render(ctx, invoice), created=at)
