"""Stripe objects (or their dicts) as the gateway's snapshots: read field by field, tolerant of
an expanded object where an id was expected and the other way round."""

from __future__ import annotations

from typing import Any

from clerk_portal.billing.gateway.snapshots import (
    CardSnapshot,
    ClockSnapshot,
    CouponInfo,
    CustomerSnapshot,
    InvoiceItemSnapshot,
    InvoicePreview,
    InvoiceSnapshot,
    ItemSnapshot,
    PhaseItem,
    PreviewLine,
    PriceInfo,
    ProductInfo,
    PromotionCodeInfo,
    QuoteSnapshot,
    SchedulePhase,
    ScheduleSnapshot,
    SetupIntentResult,
    SubscriptionSnapshot,
    TaxIdInfo,
)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    try:
        return obj[name]
    except (KeyError, TypeError):
        return getattr(obj, name, default)


def _id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    found: str | None = _get(value, "id")
    return found


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    return value.to_dict() if hasattr(value, "to_dict") else dict(value)


def to_product(product: Any) -> ProductInfo:
    return ProductInfo(
        id=product.id,
        name=product.name,
        active=bool(product.active),
        metadata=_metadata(product.metadata),
    )


def to_coupon(coupon: Any) -> CouponInfo:
    percent = _get(coupon, "percent_off")
    return CouponInfo(
        id=coupon.id,
        name=_get(coupon, "name"),
        percent_off=float(percent) if percent is not None else None,
        amount_off=_get(coupon, "amount_off"),
        currency=_get(coupon, "currency"),
        duration=coupon.duration,
        duration_in_months=_get(coupon, "duration_in_months"),
        valid=bool(_get(coupon, "valid", True)),
    )


def to_quote(quote: Any) -> QuoteSnapshot:
    computed = quote.computed
    recurring = _get(computed, "recurring")
    return QuoteSnapshot(
        id=quote.id,
        status=quote.status,
        number=_get(quote, "number"),
        customer=_id(quote.customer) or "",
        amount_subtotal=quote.amount_subtotal,
        amount_total=computed.upfront.amount_total,
        recurring_total=recurring.amount_total if recurring else quote.amount_total,
        interval=recurring.interval if recurring else "month",
        expires_at=quote.expires_at,
        discount_ids=tuple(_id(d) or "" for d in (_get(quote, "discounts") or [])),
    )


def to_promotion_code(promo: Any) -> PromotionCodeInfo:
    """The current API's shape: `promotion: {type: "coupon", coupon: id or expanded coupon}`."""
    coupon = _get(_get(promo, "promotion"), "coupon")
    expanded = None if coupon is None or isinstance(coupon, str) else to_coupon(coupon)
    return PromotionCodeInfo(
        id=promo.id,
        code=promo.code,
        coupon_id=expanded.id if expanded else str(coupon),
        active=bool(promo.active),
        expires_at=_get(promo, "expires_at"),
        max_redemptions=_get(promo, "max_redemptions"),
        times_redeemed=int(_get(promo, "times_redeemed", 0) or 0),
        coupon=expanded,
    )


def to_price(price: Any) -> PriceInfo:
    recurring = _get(price, "recurring")
    return PriceInfo(
        id=_get(price, "id"),
        product_id=_id(_get(price, "product")) or "",
        unit_amount=_get(price, "unit_amount"),
        currency=_get(price, "currency"),
        interval=_get(recurring, "interval") if recurring else None,
        active=bool(_get(price, "active")),
        lookup_key=_get(price, "lookup_key"),
        metadata=_metadata(_get(price, "metadata")),
    )


def to_customer(customer: Any) -> CustomerSnapshot:
    if _get(customer, "deleted"):
        return CustomerSnapshot(id=_get(customer, "id"), deleted=True)
    settings = _get(customer, "invoice_settings") or {}
    address = _get(customer, "address")
    fields = _get(settings, "custom_fields") or []
    return CustomerSnapshot(
        id=_get(customer, "id"),
        email=_get(customer, "email"),
        name=_get(customer, "name"),
        address={key: _get(address, key) for key in _ADDRESS_KEYS} if address else None,
        default_payment_method=_id(_get(settings, "default_payment_method")),
        test_clock=_id(_get(customer, "test_clock")),
        metadata=_metadata(_get(customer, "metadata")),
        custom_fields=tuple((_get(f, "name"), _get(f, "value")) for f in fields),
        tax_ids=_tax_ids(customer),
    )


def to_tax_id(tax_id: Any) -> TaxIdInfo:
    return TaxIdInfo(id=_get(tax_id, "id"), type=_get(tax_id, "type"), value=_get(tax_id, "value"))


def _tax_ids(customer: Any) -> tuple[TaxIdInfo, ...] | None:
    listed = _get(customer, "tax_ids")
    if not listed or isinstance(listed, str):
        return None
    return tuple(to_tax_id(t) for t in reversed(_get(listed, "data") or []))  # oldest first


_ADDRESS_KEYS = ("line1", "line2", "city", "state", "postal_code", "country")


def to_setup_intent(intent: Any) -> SetupIntentResult:
    method = _get(intent, "payment_method")
    return SetupIntentResult(
        id=_get(intent, "id"),
        client_secret=_get(intent, "client_secret"),
        status=_get(intent, "status"),
        customer=_id(_get(intent, "customer")),
        payment_method=_id(method),
        card=to_card(method) if method is not None and not isinstance(method, str) else None,
    )


def to_card(pm: Any) -> CardSnapshot:
    card = _get(pm, "card") or {}
    return CardSnapshot(
        id=_get(pm, "id"),
        brand=_get(card, "brand"),
        last4=_get(card, "last4"),
        exp_month=_get(card, "exp_month"),
        exp_year=_get(card, "exp_year"),
        customer=_id(_get(pm, "customer")),
    )


def to_item(item: Any) -> ItemSnapshot:
    price = _get(item, "price")
    recurring = _get(price, "recurring")
    return ItemSnapshot(
        id=_get(item, "id"),
        price_id=_id(price) or "",
        lookup_key=_get(price, "lookup_key"),
        quantity=int(_get(item, "quantity") or 0),
        unit_amount=int(_get(price, "unit_amount") or 0),
        interval=_get(recurring, "interval") if recurring else None,
    )


def to_subscription(sub: Any) -> SubscriptionSnapshot:
    raw_items = _get(_get(sub, "items"), "data") or []
    items = tuple(to_item(item) for item in raw_items)
    first = raw_items[0] if raw_items else None
    latest = _get(sub, "latest_invoice")
    details = _get(sub, "cancellation_details") or {}
    return SubscriptionSnapshot(
        id=_get(sub, "id"),
        status=_get(sub, "status"),
        customer=_id(_get(sub, "customer")) or "",
        items=items,
        current_period_start=_get(first, "current_period_start"),
        current_period_end=_get(first, "current_period_end"),
        cancel_at_period_end=bool(_get(sub, "cancel_at_period_end")),
        cancel_at=_get(sub, "cancel_at"),
        canceled_at=_get(sub, "canceled_at"),
        trial_end=_get(sub, "trial_end"),
        latest_invoice_id=_id(latest),
        default_payment_method=_id(_get(sub, "default_payment_method")),
        metadata=_metadata(_get(sub, "metadata")),
        cancellation_feedback=_get(details, "feedback"),
        cancellation_comment=_get(details, "comment"),
        latest_invoice=to_invoice(latest)
        if latest is not None and not isinstance(latest, str)
        else None,
        schedule_id=_id(_get(sub, "schedule")),
        collection_method=_get(sub, "collection_method") or "charge_automatically",
        days_until_due=_get(sub, "days_until_due"),
    )


def to_schedule(schedule: Any) -> ScheduleSnapshot:
    phases = []
    for phase in _get(schedule, "phases") or []:
        items = tuple(
            PhaseItem(
                price_id=_id(_get(item, "price")) or "",
                lookup_key=_get(_get(item, "price"), "lookup_key")
                if not isinstance(_get(item, "price"), str)
                else None,
                quantity=int(_get(item, "quantity") or 0),
            )
            for item in _get(phase, "items") or []
        )
        phases.append(SchedulePhase(_get(phase, "start_date"), _get(phase, "end_date"), items))
    current = _get(schedule, "current_phase")
    return ScheduleSnapshot(
        id=_get(schedule, "id"),
        status=_get(schedule, "status"),
        subscription_id=_id(_get(schedule, "subscription")),
        phases=tuple(phases),
        current_phase_start=_get(current, "start_date"),
        current_phase_end=_get(current, "end_date"),
    )


def to_invoice(invoice: Any) -> InvoiceSnapshot:
    parent = _get(invoice, "parent") or {}
    sub_details = _get(parent, "subscription_details") or {}
    subscription = _id(_get(sub_details, "subscription")) or _id(_get(invoice, "subscription"))
    billed = billed_period(invoice)
    return InvoiceSnapshot(
        id=_get(invoice, "id"),
        customer=_id(_get(invoice, "customer")),
        subscription_id=subscription,
        number=_get(invoice, "number"),
        status=_get(invoice, "status") or "draft",
        currency=_get(invoice, "currency") or "usd",
        subtotal=int(_get(invoice, "subtotal") or 0),
        total=int(_get(invoice, "total") or 0),
        amount_due=int(_get(invoice, "amount_due") or 0),
        amount_paid=int(_get(invoice, "amount_paid") or 0),
        amount_remaining=int(_get(invoice, "amount_remaining") or 0),
        period_start=_get(invoice, "period_start"),
        period_end=_get(invoice, "period_end"),
        created=int(_get(invoice, "created") or 0),
        billing_reason=_get(invoice, "billing_reason"),
        hosted_invoice_url=_get(invoice, "hosted_invoice_url"),
        invoice_pdf=_get(invoice, "invoice_pdf"),
        next_payment_attempt=_get(invoice, "next_payment_attempt"),
        billed_period_start=billed[0] if billed else None,
        billed_period_end=billed[1] if billed else None,
        confirmation_client_secret=_get(
            _get(invoice, "confirmation_secret") or {}, "client_secret"
        ),
        collection_method=_get(invoice, "collection_method") or "charge_automatically",
        due_date=_get(invoice, "due_date"),
    )


def billed_period(invoice: Any) -> tuple[int, int] | None:
    """(start, end) of the invoice's subscription lines that are not prorations: the period it
    bills. Stripe's own `invoice.period_*` is the period before for a renewal."""
    spans = []
    for line in _get(_get(invoice, "lines"), "data") or []:
        parent = _get(line, "parent") or {}
        details = _get(parent, "subscription_item_details")
        period = _get(line, "period") or {}
        start, end = _get(period, "start"), _get(period, "end")
        if (
            _get(parent, "type") == "subscription_item_details"
            and not _get(details, "proration")
            and start is not None
            and end is not None
        ):
            spans.append((int(start), int(end)))
    if not spans:
        return None
    return min(start for start, _ in spans), max(end for _, end in spans)


def to_invoice_item(item: Any) -> InvoiceItemSnapshot:
    parent = _get(item, "parent") or {}
    details = _get(parent, "subscription_details") or {}
    return InvoiceItemSnapshot(
        id=_get(item, "id"),
        amount=int(_get(item, "amount") or 0),
        proration=bool(_get(item, "proration")),
        subscription_id=_id(_get(details, "subscription")) or _id(_get(item, "subscription")),
    )


def to_preview(invoice: Any) -> InvoicePreview:
    lines = []
    for line in _get(_get(invoice, "lines"), "data") or []:
        parent = _get(line, "parent") or {}
        details = _get(parent, "subscription_item_details") or _get(parent, "invoice_item_details")
        pricing = _get(line, "pricing") or {}
        period = _get(line, "period") or {}
        lines.append(
            PreviewLine(
                description=_get(line, "description") or "",
                amount=int(_get(line, "amount") or 0),
                quantity=_get(line, "quantity"),
                price_id=_get(_get(pricing, "price_details"), "price"),
                proration=bool(_get(details, "proration")),
                period_start=_get(period, "start"),
                period_end=_get(period, "end"),
            )
        )
    return InvoicePreview(
        amount_due=int(_get(invoice, "amount_due") or 0),
        subtotal=int(_get(invoice, "subtotal") or 0),
        total=int(_get(invoice, "total") or 0),
        currency=_get(invoice, "currency") or "usd",
        lines=tuple(lines),
        period_start=_get(invoice, "period_start"),
        period_end=_get(invoice, "period_end"),
    )


def to_clock(clock: Any) -> ClockSnapshot:
    return ClockSnapshot(
        id=_get(clock, "id"),
        frozen_time=int(_get(clock, "frozen_time") or 0),
        status=_get(clock, "status") or "ready",
    )
