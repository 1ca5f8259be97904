"""Subscription changes after creation: updates, renewals, trial ends, payment outcomes, cancel."""

from __future__ import annotations

from typing import Any

from ..errors import invalid, missing, unknown_parameter
from ..render import render
from ..store import Ctx, diff
from ..util import as_bool, as_dict, as_int, as_list, merge_metadata
from . import billing, coupons, invoicing, payment_methods
from .billing import PAYMENT_BEHAVIORS, PRORATION_BEHAVIORS, items_of
from .customers import get_customer

DAY = billing.DAY
UPDATE_ITEM = (
    "id,price,quantity,metadata,deleted,!clear_usage,!discounts,!tax_rates,!price_data,"
    "!billing_thresholds"
)
UPDATE_PARAMS = (
    f"items[{UPDATE_ITEM}] proration_behavior proration_date billing_cycle_anchor[type] "
    "cancel_at_period_end cancel_at cancellation_details[comment,feedback] default_payment_method "
    "metadata payment_behavior trial_end description off_session "
    "payment_settings[save_default_payment_method,!payment_method_types,!payment_method_options] "
    f"collection_method days_until_due {coupons.DISCOUNT_KEYS} !trial_from_plan !automatic_tax "
    "!default_tax_rates pause_collection[behavior,resumes_at] !add_invoice_items "
    "!application_fee_percent "
    "!on_behalf_of !transfer_data !coupon !promotion_code !pending_invoice_item_interval "
    "!billing_thresholds !invoice_settings !trial_settings"
)


def update(ctx: Ctx, sub: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
    """Apply an update; returns the invoice it created at once, if any."""
    ended = sub["status"] in ("canceled", "incomplete_expired")
    if ended and set(params) - {"metadata", "cancellation_details", "expand"}:
        raise invalid(
            "A canceled subscription can only update its cancellation_details and metadata."
        )
    if sub["schedule"] and ("cancel_at_period_end" in params or "cancel_at" in params):
        raise invalid(
            f"The subscription is managed by the subscription schedule `{sub['schedule']}`, and "
            "updating any cancelation behavior directly is not allowed. Please update the "
            "schedule instead.",
            "cancel_at_period_end" if "cancel_at_period_end" in params else "cancel_at",
        )
    customer = get_customer(ctx, sub["customer"])
    now = ctx.now(customer["test_clock"])
    proration = params.get("proration_behavior") or "create_prorations"
    behaviour = params.get("payment_behavior") or "allow_incomplete"
    if proration not in PRORATION_BEHAVIORS:
        raise invalid(f"Invalid proration_behavior: {proration}", "proration_behavior")
    if behaviour not in PAYMENT_BEHAVIORS:
        raise invalid(f"Invalid payment_behavior: {behaviour}", "payment_behavior")
    anchor = _anchor_type(ctx, params)
    at = as_int(params, "proration_date") or now
    start, end = sub["_period"]
    if not start <= at <= end:
        raise invalid("proration_date must be within the current period.", "proration_date")
    pause = (
        _pause_collection(params, now) if "pause_collection" in params else sub["pause_collection"]
    )
    chosen = None
    if "discounts" in params:
        chosen = coupons.resolve_discounts(
            ctx, params["discounts"], sub["currency"], sub["discounts"]
        )
    snapshot = billing._rollback_point(ctx, behaviour)
    before = render(ctx, sub)
    old_cadence = billing.cadence(ctx.store.get(items_of(ctx, sub)[0]["price"]))  # type: ignore
    old_items = {i["id"]: (i["price"], i["quantity"]) for i in items_of(ctx, sub)}
    changes = billing._apply_items(ctx, sub, as_list(params, "items"), now)
    new_cadence = billing.cadence(ctx.store.get(items_of(ctx, sub)[0]["price"]))  # type: ignore
    reset = anchor == "now" or new_cadence != old_cadence
    was_trialing = sub["status"] == "trialing"
    if was_trialing and params.get("trial_end") == "now":
        sub["trial_end"], sub["status"], reset = now, "active", True
    elif was_trialing and params.get("trial_end"):
        sub["trial_end"] = billing._trial_end(params, now)
        sub["_anchor"] = sub["billing_cycle_anchor"] = sub["trial_end"]
        sub["_period"] = [start, sub["trial_end"]]
    elif params.get("trial_end") not in (None, "", "now"):
        # A trial added to a paid subscription moves its billing cycle: nothing is invoiced
        # until the trial ends, which starts a full period on the prices it then has.
        if proration != "none":
            for item_id, old in old_items.items():
                billing.prorate(ctx, sub, customer, item_id, old, None, now)
        sub["status"], sub["trial_start"] = "trialing", now
        sub["trial_end"] = billing._trial_end(params, now)
        sub["_anchor"] = sub["billing_cycle_anchor"] = sub["trial_end"]
        sub["_period"], reset, was_trialing = [now, sub["trial_end"]], False, True
    _apply_plain(ctx, sub, customer, params)
    sub["pause_collection"] = pause
    if chosen is not None:
        coupons.apply_discounts(ctx, sub, chosen, now)
    immediate: list[dict[str, Any]] = []
    if reset:
        if proration != "none" and not was_trialing:
            for item_id, old in old_items.items():
                billing.prorate(ctx, sub, customer, item_id, old, None, now)
        billing._set_period(ctx, sub, now, 0)
        if sub["cancel_at_period_end"]:  # it means the end of the current period, the new one
            sub["cancel_at"] = sub["_period"][1]
        period = (sub["_period"][0], sub["_period"][1])
        immediate = [invoicing.item_line(ctx, sub, item, period) for item in items_of(ctx, sub)]
    elif proration != "none" and not was_trialing:
        for item_id, old, new in changes:
            billing.prorate(ctx, sub, customer, item_id, old, new, at)
    billing._apply_cancel_params(ctx, sub, params)
    invoice = None
    pending = invoicing.pending_items(ctx, customer["id"], sub["id"])
    if reset or (proration == "always_invoice" and pending):
        invoice = invoicing.create_invoice(
            ctx,
            customer,
            sub=sub,
            billing_reason="subscription_update",
            lines=immediate,
            period=(now, now),
        )
        sub["latest_invoice"] = invoice["id"]
        if not while_paused(ctx, sub, invoice):
            invoicing.finalize(ctx, invoice)
        if (
            invoice["status"] == "open"
            and behaviour != "default_incomplete"
            and not invoicing.invoiced(invoice)
        ):
            off_session = bool(as_bool(params, "off_session", False))
            error = invoicing.collect(ctx, invoice, off_session=off_session)
            if invoice["status"] != "paid":
                billing._rollback(ctx, snapshot, error)
    after = render(ctx, sub)
    changed = diff(before, after)
    if changed:
        ctx.emit("customer.subscription.updated", after, changed, created=now)
    return invoice


# Since this API version `billing_cycle_anchor` on updates (and previews) is an object with a
# `type`: https://docs.stripe.com/changelog/endive/2026-09-30/polymorphic-billing-cycle-anchor
ANCHOR_OBJECT_SINCE = "2026-09-30"


def _anchor_type(ctx: Ctx, params: dict[str, Any]) -> str | None:
    """`now` or `unchanged` (None: not given), in the form the request's API version takes."""
    value = params.get("billing_cycle_anchor")
    if value in (None, ""):
        return None
    if ctx.api_version[:10] < ANCHOR_OBJECT_SINCE:
        if value not in ("now", "unchanged"):
            raise invalid(
                "billing_cycle_anchor must be `now` or `unchanged`.", "billing_cycle_anchor"
            )
        return str(value)
    if not isinstance(value, dict):
        raise invalid(
            f"billing_cycle_anchor must be an object with a `type` in API version "
            f"{ctx.api_version} (billing_cycle_anchor[type]=now or unchanged).",
            "billing_cycle_anchor",
        )
    keys = ("type", "timestamp") if ctx.preview else ("type",)
    for key in value:
        if key not in keys:
            raise unknown_parameter(f"billing_cycle_anchor[{key}]")
    kind = value.get("type")
    if not kind:
        raise missing("billing_cycle_anchor[type]")
    if kind == "timestamp" and ctx.preview:
        raise invalid(
            "The sandbox does not support billing_cycle_anchor[type]=timestamp in previews "
            "(Stripe does; see the sandbox README's known differences).",
            "billing_cycle_anchor[type]",
        )
    if "timestamp" in value:
        raise invalid(
            "billing_cycle_anchor[timestamp] is only valid when its type is `timestamp`.",
            "billing_cycle_anchor[timestamp]",
        )
    if kind not in ("now", "unchanged"):
        raise invalid(
            "billing_cycle_anchor[type] must be `now` or `unchanged`.", "billing_cycle_anchor[type]"
        )
    return str(kind)


PAUSE_BEHAVIORS = ("keep_as_draft", "mark_uncollectible", "void")


def _pause_collection(params: dict[str, Any], now: int) -> dict[str, Any] | None:
    """`pause_collection` of an update: `""` resumes collection
    (https://docs.stripe.com/api/subscriptions/update#update_subscription-pause_collection)."""
    if params["pause_collection"] in ("", None):
        return None
    given = as_dict(params, "pause_collection")
    behavior = given.get("behavior")
    if not behavior:
        raise missing("pause_collection[behavior]")
    if behavior not in PAUSE_BEHAVIORS:
        raise invalid(
            f"Invalid pause_collection[behavior]: must be one of {', '.join(PAUSE_BEHAVIORS)}",
            "pause_collection[behavior]",
        )
    resumes_at = as_int(given, "resumes_at")
    if resumes_at is not None and resumes_at <= now:
        raise invalid(
            "pause_collection[resumes_at] must be in the future.", "pause_collection[resumes_at]"
        )
    return {"behavior": behavior, "resumes_at": resumes_at}


def while_paused(ctx: Ctx, sub: dict[str, Any], invoice: dict[str, Any]) -> bool:
    """An invoice the subscription makes while its collection is paused: kept a draft that
    does not advance, or finalized and marked uncollectible, or voided (without touching the
    credit balance); never charged. Returns whether the pause handled it
    (https://docs.stripe.com/billing/subscriptions/pause-payment)."""
    pause = sub["pause_collection"]
    if not pause:
        return False
    invoice["auto_advance"] = False
    invoice["automatically_finalizes_at"] = None
    if pause["behavior"] == "keep_as_draft":
        return True
    invoicing.finalize(ctx, invoice, use_balance=pause["behavior"] != "void")
    invoice["auto_advance"] = False
    if invoice["status"] != "open":
        return True  # nothing was due
    if pause["behavior"] == "void":
        invoicing.void(ctx, invoice)
    else:
        invoicing.mark_uncollectible(ctx, invoice)
    return True


def resume_collection(ctx: Ctx, sub: dict[str, Any]) -> None:
    """`pause_collection[resumes_at]` came: invoices are collected again from now on."""
    before = render(ctx, sub)
    at = sub["pause_collection"]["resumes_at"]
    sub["pause_collection"] = None
    after = render(ctx, sub)
    ctx.emit("customer.subscription.updated", after, diff(before, after), created=at)


def _apply_plain(
    ctx: Ctx, sub: dict[str, Any], customer: dict[str, Any], params: dict[str, Any]
) -> None:
    if "default_payment_method" in params:
        pm_id = params["default_payment_method"]
        if pm_id:
            pm_id = payment_methods.require_attached(ctx, pm_id, customer["id"])["id"]
        sub["default_payment_method"] = pm_id or None
    if "metadata" in params:
        sub["metadata"] = merge_metadata(sub["metadata"], params["metadata"])
    if "description" in params:
        sub["description"] = params["description"] or None
    if params.get("collection_method"):
        sub["collection_method"] = params["collection_method"]
    if "days_until_due" in params:
        sub["days_until_due"] = as_int(params, "days_until_due")
    settings = as_dict(params, "payment_settings")
    if settings.get("save_default_payment_method"):
        sub["payment_settings"]["save_default_payment_method"] = settings[
            "save_default_payment_method"
        ]


def renew(ctx: Ctx, sub: dict[str, Any]) -> None:
    """The period ended: cancel if scheduled, else start the next period and invoice it."""
    start, end = sub["_period"]
    if sub["cancel_at"] and sub["cancel_at"] <= end:
        cancel_now(ctx, sub, at=sub["cancel_at"], reason="cancellation_requested")
        return
    customer = get_customer(ctx, sub["customer"])
    before = render(ctx, sub)
    billing._set_period(ctx, sub, sub["_anchor"], sub["_cycle"] + 1)
    _invoice_period(ctx, sub, customer, before, (start, end))


def end_trial(ctx: Ctx, sub: dict[str, Any]) -> None:
    customer = get_customer(ctx, sub["customer"])
    before = render(ctx, sub)
    sub["status"] = "active"
    billing._set_period(ctx, sub, sub["trial_end"], 0)
    _invoice_period(
        ctx, sub, customer, before, (sub["trial_start"] or sub["created"], sub["trial_end"])
    )


def _invoice_period(
    ctx: Ctx,
    sub: dict[str, Any],
    customer: dict[str, Any],
    before: dict[str, Any],
    usage_period: tuple[int, int],
) -> None:
    period = (sub["_period"][0], sub["_period"][1])
    lines = [invoicing.item_line(ctx, sub, item, period) for item in items_of(ctx, sub)]
    invoice = invoicing.create_invoice(
        ctx,
        customer,
        sub=sub,
        billing_reason="subscription_cycle",
        lines=lines,
        period=usage_period,
    )
    sub["latest_invoice"] = invoice["id"]
    # A renewal stays a draft for about an hour (it can still be edited) before Stripe
    # finalizes and charges it: https://docs.stripe.com/billing/subscriptions/overview#invoice-lifecycle
    invoice["automatically_finalizes_at"] = invoice["created"] + invoicing.FINALIZATION_GRACE
    after = render(ctx, sub)
    ctx.emit("customer.subscription.updated", after, diff(before, after))
    while_paused(ctx, sub, invoice)


def trial_will_end(ctx: Ctx, sub: dict[str, Any]) -> None:
    sub["_twe_sent"] = True
    ctx.emit("customer.subscription.trial_will_end", render(ctx, sub))


def expire(ctx: Ctx, sub: dict[str, Any]) -> None:
    """An ``incomplete`` subscription whose first invoice stayed unpaid for 23 hours."""
    before = render(ctx, sub)
    sub["status"] = "incomplete_expired"
    sub["ended_at"] = ctx.time_for(sub)
    invoice = ctx.store.get(sub["latest_invoice"]) if sub["latest_invoice"] else None
    if invoice and invoice["status"] == "open":
        invoicing.void(ctx, invoice)
    after = render(ctx, sub)
    ctx.emit("customer.subscription.updated", after, diff(before, after))


def cancel_now(
    ctx: Ctx,
    sub: dict[str, Any],
    *,
    at: int | None = None,
    reason: str = "cancellation_requested",
    prorate: bool = False,
    invoice_now: bool = False,
) -> None:
    customer = get_customer(ctx, sub["customer"])
    at = at if at is not None else ctx.time_for(sub)
    if prorate and sub["status"] in ("active", "past_due"):
        for item in items_of(ctx, sub):
            billing.prorate(
                ctx, sub, customer, item["id"], (item["price"], item["quantity"]), None, at
            )
    sub["status"] = "canceled"
    # a cancellation scheduled earlier keeps its request's time; an immediate one is now
    scheduled = sub["cancel_at"] is not None and sub["cancel_at"] == at and sub["canceled_at"]
    sub["canceled_at"] = sub["canceled_at"] if scheduled else at
    sub["ended_at"] = at
    sub["cancellation_details"]["reason"] = reason
    if invoice_now and invoicing.pending_items(ctx, customer["id"], sub["id"]):
        invoice = invoicing.create_invoice(
            ctx, customer, sub=sub, billing_reason="subscription_update", lines=[], period=(at, at)
        )
        invoicing.finalize(ctx, invoice)
        invoicing.collect(ctx, invoice, off_session=True)
    for invoice in ctx.store.all("invoices"):
        if invoice["subscription"] == sub["id"] and invoice["status"] == "open":
            invoice["next_payment_attempt"] = None
    ctx.emit("customer.subscription.deleted", render(ctx, sub), created=at)
    from . import schedules  # late: schedules drives this module

    schedules.subscription_ended(ctx, sub, at)


def after_paid(ctx: Ctx, invoice: dict[str, Any], pi: dict[str, Any] | None) -> None:
    """A paid invoice brings its subscription back to ``active``."""
    sub = ctx.store.get(invoice["subscription"]) if invoice["subscription"] else None
    if sub is None:
        return
    before = render(ctx, sub) if not sub.get("_creating") else None
    saves = sub["payment_settings"]["save_default_payment_method"] == "on_subscription"
    if pi is not None and pi["payment_method"] and saves:
        pm = ctx.store.get(pi["payment_method"])
        if pm is not None and pm["customer"] is None:  # saved for later, as Stripe does
            payment_methods.attach(ctx, pm["id"], sub["customer"])
        sub["default_payment_method"] = pi["payment_method"]
    if sub["status"] in ("incomplete", "past_due", "unpaid"):
        still_open = [
            i
            for i in ctx.store.all("invoices")
            if i["subscription"] == sub["id"]
            and i["status"] == "open"
            and i is not invoice
            # an invoiced customer's open invoice counts once it is overdue
            and (not invoicing.invoiced(i) or i.get("_overdue"))
        ]
        if not still_open:
            sub["status"] = "active"
    if before is not None:
        after = render(ctx, sub)
        changed = diff(before, after)
        if changed:
            ctx.emit("customer.subscription.updated", after, changed)


def after_failed_payment(ctx: Ctx, invoice: dict[str, Any]) -> None:
    """``past_due`` after a failed renewal; cancel (or ``unpaid``) when retries are exhausted."""
    sub = ctx.store.get(invoice["subscription"]) if invoice["subscription"] else None
    if sub is None or sub.get("_creating") or invoice["billing_reason"] == "subscription_create":
        return
    before = render(ctx, sub)
    if sub["status"] in ("active", "trialing"):
        sub["status"] = "past_due"
    exhausted = invoice["next_payment_attempt"] is None and invoice["_first_failed_at"] is not None
    if exhausted and sub["status"] == "past_due":
        if ctx.store.settings["retries_exhausted"] == "unpaid":
            sub["status"] = "unpaid"
        else:
            cancel_now(ctx, sub, reason="payment_failed")
            return
    after = render(ctx, sub)
    changed = diff(before, after)
    if changed:
        ctx.emit("customer.subscription.updated", after, changed)
