"""Invoices, invoice items and ``create_preview``."""

from __future__ import annotations

from typing import Any

from ..errors import invalid, missing, not_found
from ..render import INCLUDABLE, created_filter, expand_paths, page, render, render_id, renderer
from ..router import route
from ..store import Ctx
from ..util import as_bool, as_dict, as_int, merge_metadata, public
from . import billing, invoicing, lifecycle, payment_intents, payment_methods, schedules
from .catalog import get_price
from .customers import get_customer
from .subscriptions import get_subscription

PREVIEW_PARAMS = (
    "customer subscription subscription_details[items,proration_behavior,proration_date,"
    "billing_cycle_anchor,cancel_at_period_end,cancel_at,trial_end,!default_tax_rates,"
    "billing_mode,!cancel_now,!resume_at,!start_date,!trial_from_plan,!billing_schedules] "
    "discounts[coupon,promotion_code,discount] !invoice_items !automatic_tax !currency "
    "!customer_details !issuer !on_behalf_of "
    "!preview_mode !schedule !schedule_details"
)


def get_invoice(ctx: Ctx, invoice_id: str, param: str = "invoice") -> dict[str, Any]:
    invoice = ctx.store.get(invoice_id)
    if not invoice or invoice["object"] != "invoice":
        raise not_found("invoice", invoice_id, param)
    return invoice


@renderer("invoices")
def render_invoice(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    obj = public(record)
    customer = ctx.store.get(record["customer"])
    if record["status"] == "draft" and customer is not None:
        obj.update(invoicing.customer_details(ctx, customer))
    if record["status"] != "draft":
        obj["hosted_invoice_url"] = f"{ctx.base_url}/invoices/{record['id']}"
        obj["invoice_pdf"] = f"{ctx.base_url}/invoices/{record['id']}/pdf"
    return obj


def _payments(ctx: Ctx, node: dict[str, Any]) -> dict[str, Any]:
    records = payment_intents.payments_of(ctx, node["id"])
    return {
        "object": "list",
        "data": [render(ctx, r) for r in records],
        "has_more": False,
        "url": f"/v1/invoice_payments?invoice={node['id']}",
    }


def _confirmation_secret(ctx: Ctx, node: dict[str, Any]) -> dict[str, Any] | None:
    record = ctx.store.get(node["id"])
    pi = ctx.store.get(record["_pi"]) if record and record["_pi"] else None
    return {"client_secret": pi["client_secret"], "type": "payment_intent"} if pi else None


INCLUDABLE["invoice"] = {"payments": _payments, "confirmation_secret": _confirmation_secret}


@route(
    "POST",
    "/v1/invoices",
    params="customer subscription auto_advance collection_method description metadata "
    "pending_invoice_items_behavior default_payment_method footer !days_until_due !due_date "
    "!discounts !custom_fields !automatic_tax !default_tax_rates !account_tax_ids !rendering "
    "!payment_settings !on_behalf_of !issuer !shipping_cost !shipping_details !currency",
)
def create_invoice(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("customer"):
        raise missing("customer")
    customer = get_customer(ctx, params["customer"])
    sub = get_subscription(ctx, params["subscription"]) if params.get("subscription") else None
    include = params.get("pending_invoice_items_behavior", "exclude") == "include"
    at = ctx.time_for(customer)
    invoice = invoicing.create_invoice(
        ctx,
        customer,
        sub=sub,
        billing_reason="manual",
        lines=[],
        period=(at, at),
        include_pending=include,
    )
    _apply(ctx, invoice, params)
    return render(ctx, invoice, expand_paths(params))


def _apply(ctx: Ctx, invoice: dict[str, Any], params: dict[str, Any]) -> None:
    if "metadata" in params:
        invoice["metadata"] = merge_metadata(invoice["metadata"], params["metadata"])
    for key in ("description", "footer"):
        if key in params:
            invoice[key] = params[key] or None
    if "auto_advance" in params:
        invoice["auto_advance"] = as_bool(params, "auto_advance")
        if not invoice["auto_advance"]:  # no longer finalized on its own
            invoice["automatically_finalizes_at"] = None
    if params.get("collection_method"):
        invoice["collection_method"] = params["collection_method"]
    if params.get("default_payment_method"):
        pm = payment_methods.require_attached(
            ctx, params["default_payment_method"], invoice["customer"]
        )
        invoice["default_payment_method"] = pm["id"]


@route("GET", "/v1/invoices/{invoice_id}")
def retrieve_invoice(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    return render(ctx, get_invoice(ctx, invoice_id, "invoice"), expand_paths(params))


@route(
    "POST",
    "/v1/invoices/{invoice_id}",
    params="metadata description footer auto_advance default_payment_method collection_method "
    "!days_until_due !due_date !discounts !custom_fields !automatic_tax !default_tax_rates "
    "!account_tax_ids !rendering !payment_settings",
)
def update_invoice(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    invoice = get_invoice(ctx, invoice_id)
    _apply(ctx, invoice, params)
    ctx.emit("invoice.updated", render(ctx, invoice))
    return render(ctx, invoice, expand_paths(params))


@route("DELETE", "/v1/invoices/{invoice_id}")
def delete_invoice(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    invoice = get_invoice(ctx, invoice_id)
    if invoice["status"] != "draft":
        raise invalid("You can only delete draft invoices.")
    for ii in ctx.store.all("invoiceitems"):
        if ii["invoice"] == invoice_id:
            ii["invoice"] = None
    ctx.store.delete(invoice_id)
    ctx.emit("invoice.deleted", render(ctx, invoice))
    return {"id": invoice_id, "object": "invoice", "deleted": True}


@route("POST", "/v1/invoices/{invoice_id}/finalize", params="auto_advance")
def finalize_invoice(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    invoice = get_invoice(ctx, invoice_id)
    if invoice["status"] != "draft":
        raise invalid("This invoice is already finalized.", code="invoice_not_editable")
    if "auto_advance" in params:
        invoice["auto_advance"] = as_bool(params, "auto_advance")
    invoicing.finalize(ctx, invoice)
    if invoice["auto_advance"] and invoice["collection_method"] == "charge_automatically":
        invoicing.collect(ctx, invoice, off_session=True)
    return render(ctx, invoice, expand_paths(params))


@route(
    "POST",
    "/v1/invoices/{invoice_id}/pay",
    params="payment_method off_session paid_out_of_band !forgive !source !mandate",
)
def pay_invoice(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    invoice = get_invoice(ctx, invoice_id)
    if invoice["status"] == "draft":
        invoicing.finalize(ctx, invoice)
    if invoice["status"] == "paid":
        raise invalid("Invoice is already paid.", code="invoice_already_paid")
    if invoice["status"] != "open":
        raise invalid(
            f"You cannot pay an invoice with status {invoice['status']}.",
            code="invoice_not_editable",
        )
    if as_bool(params, "paid_out_of_band", False):
        invoicing.mark_paid(ctx, invoice, None)
        return render(ctx, invoice, expand_paths(params))
    pm_id = None
    if params.get("payment_method"):
        pm_id = payment_methods.require_attached(
            ctx, params["payment_method"], invoice["customer"]
        )["id"]
    error = invoicing.collect(
        ctx, invoice, pm_id=pm_id, off_session=bool(as_bool(params, "off_session", True))
    )
    if error is not None:
        error.keep_effects = True
        raise error
    return render(ctx, invoice, expand_paths(params))


@route("POST", "/v1/invoices/{invoice_id}/send", params="")
def send_invoice(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    """https://docs.stripe.com/api/invoices/send: an open `send_invoice` invoice is sent again
    (a draft is finalized first); any other is refused."""
    invoice = get_invoice(ctx, invoice_id, "id")
    if not invoicing.invoiced(invoice):
        raise invalid(
            "You can only manually send an invoice if its collection method is 'send_invoice'."
        )
    if invoice["status"] == "draft":
        invoicing.finalize(ctx, invoice)
        if invoice["status"] == "open" and not invoice["auto_advance"]:
            invoicing.send(ctx, invoice)
    elif invoice["status"] == "open":
        invoicing.send(ctx, invoice)
    else:
        raise invalid(f"You cannot send an invoice that is {invoice['status']}.")
    return render(ctx, invoice, expand_paths(params))


@route("POST", "/v1/invoices/{invoice_id}/void", params="")
def void_invoice(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    invoice = get_invoice(ctx, invoice_id)
    if invoice["status"] not in ("open", "uncollectible"):
        raise invalid(f"You can only void open invoices (this one is {invoice['status']}).")
    invoicing.void(ctx, invoice)
    return render(ctx, invoice, expand_paths(params))


@route("POST", "/v1/invoices/{invoice_id}/mark_uncollectible", params="")
def mark_uncollectible(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    invoice = get_invoice(ctx, invoice_id)
    if invoice["status"] != "open":
        raise invalid("You can only mark open invoices as uncollectible.")
    invoicing.mark_uncollectible(ctx, invoice)
    return render(ctx, invoice, expand_paths(params))


@route(
    "GET",
    "/v1/invoices",
    params="customer subscription status collection_method limit starting_after ending_before "
    "created !due_date",
)
def list_invoices(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = created_filter(ctx.store.all("invoices"), params)
    for key in ("customer", "subscription", "status", "collection_method"):
        if params.get(key):
            records = [r for r in records if r[key] == params[key]]
    return page(ctx, records, params, "/v1/invoices")


@route("GET", "/v1/invoices/{invoice_id}/lines", params="limit starting_after ending_before")
def list_lines(ctx: Ctx, params: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    invoice = get_invoice(ctx, invoice_id)
    return page(
        ctx,
        invoice["lines"]["data"],
        params,
        f"/v1/invoices/{invoice_id}/lines",
        newest_first=False,
    )


@route("POST", "/v1/invoices/create_preview", params=PREVIEW_PARAMS)
def create_preview(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    details = as_dict(params, "subscription_details")
    sub = get_subscription(ctx, params["subscription"]) if params.get("subscription") else None
    customer_id = sub["customer"] if sub else params.get("customer")
    if not customer_id:
        raise missing("customer")
    customer = get_customer(ctx, customer_id)
    pctx = _preview_ctx(ctx, customer["id"])
    if sub is not None:
        fsub = pctx.store.get(sub["id"])
        assert fsub is not None
        if "discounts" in params:  # replaces the subscription's own for this preview
            details = {**details, "discounts": params["discounts"]}
        if "billing_mode" in details:  # a migration's preview: not modelled
            raise invalid(
                "The sandbox previews billing_mode for a new subscription only, not a change "
                "of an existing subscription's mode.",
                "subscription_details[billing_mode]",
            )
        invoice = lifecycle.update(pctx, fsub, details) if details else None
        if invoice is None:
            invoice = _upcoming(pctx, fsub)
    elif details.get("items"):
        fields = ("items", "trial_end", "cancel_at_period_end", "cancel_at", "billing_mode")
        chosen = {k: details[k] for k in fields if k in details}
        if "discounts" in params:
            chosen["discounts"] = params["discounts"]
        created = billing.create(pctx, {"customer": customer["id"], **chosen})
        invoice = get_invoice(pctx, created["latest_invoice"])
    else:
        raise invalid(
            "You must pass `subscription` or `subscription_details[items]` to preview an invoice.",
            code="invoice_upcoming_none",
        )
    return _as_preview(pctx, invoice, "upcoming_" + invoice["id"], expand_paths(params))


def _preview_ctx(ctx: Ctx, customer_id: str) -> Ctx:
    """A scratch copy of the customer's world: nothing done in it is kept or announced."""
    return Ctx(
        store=ctx.store.fork(_related_ids(ctx, customer_id)),
        base_url=ctx.base_url,
        api_version=ctx.api_version,
        preview=True,
    )


def _as_preview(
    pctx: Ctx, invoice: dict[str, Any], preview_id: str | None, expand: Any = None
) -> dict[str, Any]:
    result = render(pctx, invoice, expand or ())
    result["id"] = preview_id
    for line in result["lines"]["data"]:
        line["invoice"] = preview_id
    result["lines"]["url"] = f"/v1/invoices/{preview_id}/lines" if preview_id else None
    return result


def upcoming_renewal_at(ctx: Ctx, sub: dict[str, Any]) -> int | None:
    """When this subscription next creates an invoice that is charged automatically: its
    trial end or its period end (None: it ends instead, its customer pays by invoice, or its
    collection is paused then)."""
    if sub["collection_method"] != "charge_automatically":
        return None
    if sub["status"] == "trialing":
        at = sub["trial_end"]
    elif sub["status"] in ("active", "past_due"):
        at = sub["_period"][1]
    else:
        return None
    if sub["cancel_at"] and sub["cancel_at"] <= at:
        return None
    pause = sub["pause_collection"]
    if pause and (pause["resumes_at"] is None or pause["resumes_at"] > at):
        return None  # https://docs.stripe.com/billing/subscriptions/pause-payment
    return int(at)


def announce_upcoming(ctx: Ctx, sub: dict[str, Any]) -> None:
    """`invoice.upcoming`: the invoice the renewal will create, as a preview with no id
    (https://docs.stripe.com/api/events/types#event_types-invoice.upcoming)."""
    sub["_upcoming_announced"] = upcoming_renewal_at(ctx, sub)
    pctx = _preview_ctx(ctx, sub["customer"])
    fsub = pctx.store.get(sub["id"])
    assert fsub is not None
    invoice = _upcoming(pctx, fsub)
    ctx.emit("invoice.upcoming", _as_preview(pctx, invoice, None), created=ctx.time_for(sub))


def _related_ids(ctx: Ctx, customer_id: str) -> list[str]:
    ids = [customer_id]
    for sub in ctx.store.all("subscriptions"):
        if sub["customer"] == customer_id:
            ids += [sub["id"], *sub["_items"]]
            if sub.get("schedule"):
                ids.append(sub["schedule"])
    ids += [ii["id"] for ii in invoicing.pending_items(ctx, customer_id, None)]
    return ids


def _upcoming(pctx: Ctx, sub: dict[str, Any]) -> dict[str, Any]:
    if sub["status"] == "trialing":
        at = sub["trial_end"]
        _at_time(pctx, sub, at, lambda: lifecycle.end_trial(pctx, sub))
    elif sub["status"] in ("active", "past_due") and not (
        sub["cancel_at"] and sub["cancel_at"] <= sub["_period"][1]
    ):
        at = sub["_period"][1]
        _at_time(pctx, sub, at, lambda: _next_period(pctx, sub, at))
    else:
        raise invalid(
            f"No upcoming invoices for subscription: {sub['id']}", code="invoice_upcoming_none"
        )
    invoice = get_invoice(pctx, sub["latest_invoice"])
    invoice["created"] = at
    return invoice


def _next_period(pctx: Ctx, sub: dict[str, Any], at: int) -> None:
    """The period end: a schedule's next phase first (its prices are what renews), then renew."""
    schedules.boundary_at(pctx, sub, at)
    if sub["_period"][1] == at:  # a new interval started a new cycle and invoiced it already
        lifecycle.renew(pctx, sub)


def _at_time(pctx: Ctx, sub: dict[str, Any], at: int, action: Any) -> None:
    """Run ``action`` as if the clock read ``at`` (only inside the preview fork)."""
    clock_id = sub["test_clock"]
    if clock_id:
        clock = dict(pctx.store.get(clock_id) or {})
        clock["frozen_time"] = at
        pctx.store.put(clock)
    action()


# -- invoice items ------------------------------------------------------------------------------


@route(
    "POST",
    "/v1/invoiceitems",
    params="customer price amount currency description quantity subscription metadata "
    "period[start,end] !invoice !discountable !discounts !tax_rates !price_data "
    "!unit_amount_decimal !tax_behavior !tax_code",
)
def create_invoice_item(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("customer"):
        raise missing("customer")
    customer = get_customer(ctx, params["customer"])
    quantity = as_int(params, "quantity", 1) or 1
    if params.get("price"):
        price = get_price(ctx, params["price"])
        amount = price["unit_amount"] * quantity
    else:
        amount = as_int(params, "amount")
        if amount is None:
            raise missing("amount")
        price = {"id": None, "product": None, "currency": params.get("currency") or "usd"}
    at = ctx.time_for(customer)
    period = as_dict(params, "period")
    ii = invoicing.new_invoice_item(
        ctx,
        customer,
        price=price,
        amount=amount,
        quantity=quantity,
        description=params.get("description") or "Invoice item",
        period=(as_int(period, "start", at), as_int(period, "end", at)),
        proration=False,
        sub_id=params.get("subscription") or None,
        metadata=merge_metadata({}, params.get("metadata", {})),
    )
    return render(ctx, ii, expand_paths(params))


@route("GET", "/v1/invoiceitems/{ii_id}")
def retrieve_invoice_item(ctx: Ctx, params: dict[str, Any], ii_id: str) -> dict[str, Any]:
    ii = ctx.store.get(ii_id)
    if not ii or ii["object"] != "invoiceitem":
        raise not_found("invoiceitem", ii_id, "invoiceitem")
    return render(ctx, ii, expand_paths(params))


@route("DELETE", "/v1/invoiceitems/{ii_id}")
def delete_invoice_item(ctx: Ctx, params: dict[str, Any], ii_id: str) -> dict[str, Any]:
    ii = ctx.store.get(ii_id)
    if not ii or ii["object"] != "invoiceitem":
        raise not_found("invoiceitem", ii_id, "invoiceitem")
    if ii["invoice"]:
        raise invalid("You can only delete invoice items that are not attached to an invoice.")
    ctx.store.delete(ii_id)
    return {"id": ii_id, "object": "invoiceitem", "deleted": True}


@route(
    "GET",
    "/v1/invoiceitems",
    params="customer invoice pending limit starting_after ending_before created",
)
def list_invoice_items(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = created_filter(ctx.store.all("invoiceitems"), params)
    for key in ("customer", "invoice"):
        if params.get(key):
            records = [r for r in records if r[key] == params[key]]
    if "pending" in params:
        pending = as_bool(params, "pending")
        records = [r for r in records if (r["invoice"] is None) == pending]
    return page(ctx, records, params, "/v1/invoiceitems")


def invoice_view(ctx: Ctx, invoice_id: str) -> dict[str, Any] | None:
    """The rendered invoice for the hosted page and the PDF."""
    return render_id(ctx, invoice_id)
