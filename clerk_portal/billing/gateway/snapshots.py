"""What the gateway returns: frozen dataclasses, never Stripe objects (this module imports no
`stripe`). Amounts are integer cents, times are Unix seconds as Stripe gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CardSnapshot",
    "ClockSnapshot",
    "CouponInfo",
    "CustomerRef",
    "CustomerSnapshot",
    "InvoiceItemSnapshot",
    "InvoicePreview",
    "InvoiceSnapshot",
    "ItemSnapshot",
    "PreviewLine",
    "PriceInfo",
    "ProductInfo",
    "PromotionCodeInfo",
    "SetupIntentResult",
    "SignatureError",
    "SubscriptionSnapshot",
    "VerifiedEvent",
]


@dataclass(frozen=True)
class ProductInfo:
    id: str
    name: str
    active: bool
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CouponInfo:
    id: str
    name: str | None
    percent_off: float | None
    amount_off: int | None  # cents, in `currency`
    currency: str | None
    duration: str  # "once" | "repeating" | "forever"
    duration_in_months: int | None
    valid: bool = True


@dataclass(frozen=True)
class PromotionCodeInfo:
    id: str
    code: str
    coupon_id: str
    active: bool
    expires_at: int | None = None
    max_redemptions: int | None = None
    times_redeemed: int = 0
    coupon: CouponInfo | None = None  # when read along (expanded)


@dataclass(frozen=True)
class PriceInfo:
    id: str
    product_id: str
    unit_amount: int | None
    currency: str
    interval: str | None
    active: bool
    lookup_key: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaxIdInfo:
    id: str
    type: str  # Stripe's tax id type: eu_vat, gb_vat, us_ein, ...
    value: str


@dataclass(frozen=True)
class CustomerSnapshot:
    id: str
    email: str | None = None
    name: str | None = None
    address: dict[str, str | None] | None = None
    default_payment_method: str | None = None
    test_clock: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    custom_fields: tuple[tuple[str, str], ...] = ()
    deleted: bool = False
    # The customer's tax ids when read along (`expand[]=tax_ids`); None when not read (a
    # webhook's customer): the mirror then keeps what it has.
    tax_ids: tuple[TaxIdInfo, ...] | None = None


# The decision document calls the small customer result `CustomerRef`.
CustomerRef = CustomerSnapshot


@dataclass(frozen=True)
class SetupIntentResult:
    id: str
    client_secret: str | None
    status: str
    customer: str | None = None
    payment_method: str | None = None
    card: CardSnapshot | None = None  # the payment method, when read along (expanded)


@dataclass(frozen=True)
class CardSnapshot:
    id: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    customer: str | None = None


@dataclass(frozen=True)
class ItemSnapshot:
    id: str
    price_id: str
    lookup_key: str | None
    quantity: int
    unit_amount: int
    interval: str | None


@dataclass(frozen=True)
class InvoiceSnapshot:
    id: str
    customer: str | None
    subscription_id: str | None
    number: str | None
    status: str
    currency: str
    subtotal: int
    total: int
    amount_due: int
    amount_paid: int
    amount_remaining: int
    period_start: int | None
    period_end: int | None
    created: int
    billing_reason: str | None = None
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None
    next_payment_attempt: int | None = None
    # The period the invoice bills: its subscription lines' (a renewal's `period_start/end` are
    # the period before, a first invoice's one instant); None when it has no such line.
    billed_period_start: int | None = None
    billed_period_end: int | None = None
    # Only when expanded: what the browser needs to confirm the payment (3-D Secure).
    confirmation_client_secret: str | None = None
    # `send_invoice`: the customer pays it by its due date (bank transfer); Stripe never charges it.
    collection_method: str = "charge_automatically"
    due_date: int | None = None


@dataclass(frozen=True)
class InvoiceItemSnapshot:
    id: str
    amount: int
    proration: bool
    subscription_id: str | None


@dataclass(frozen=True)
class SubscriptionSnapshot:
    id: str
    status: str
    customer: str
    items: tuple[ItemSnapshot, ...]
    current_period_start: int | None
    current_period_end: int | None
    cancel_at_period_end: bool
    cancel_at: int | None
    canceled_at: int | None
    trial_end: int | None
    latest_invoice_id: str | None
    default_payment_method: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    cancellation_feedback: str | None = None
    cancellation_comment: str | None = None
    latest_invoice: InvoiceSnapshot | None = None
    schedule_id: str | None = None  # the subscription schedule managing it, if any
    collection_method: str = "charge_automatically"  # or send_invoice (invoiced customers)
    days_until_due: int | None = None


@dataclass(frozen=True)
class PhaseItem:
    price_id: str
    lookup_key: str | None
    quantity: int


@dataclass(frozen=True)
class SchedulePhase:
    start_date: int
    end_date: int | None
    items: tuple[PhaseItem, ...]


@dataclass(frozen=True)
class ScheduleSnapshot:
    """A subscription schedule: its phases, the one in effect, the subscription it manages."""

    id: str
    status: str  # not_started | active | completed | released | canceled
    subscription_id: str | None
    phases: tuple[SchedulePhase, ...]
    current_phase_start: int | None
    current_phase_end: int | None

    def next_phase(self) -> SchedulePhase | None:
        """The phase after the one in effect (what the subscription changes to at its end)."""
        if self.status != "active":
            return None
        for phase in self.phases:
            if phase.start_date == self.current_phase_end:
                return phase
        return None


@dataclass(frozen=True)
class PreviewLine:
    description: str
    amount: int
    quantity: int | None
    price_id: str | None
    proration: bool
    period_start: int | None
    period_end: int | None


@dataclass(frozen=True)
class InvoicePreview:
    amount_due: int
    subtotal: int
    total: int
    currency: str
    lines: tuple[PreviewLine, ...]
    period_start: int | None
    period_end: int | None

    @property
    def proration_cents(self) -> int:
        return sum(line.amount for line in self.lines if line.proration)

    @property
    def recurring_cents(self) -> int:
        return sum(line.amount for line in self.lines if not line.proration)


@dataclass(frozen=True)
class QuoteSnapshot:
    """A Stripe quote: `amount_total` is the first invoice after every discount (Stripe's
    `computed.upfront`), `recurring_total` each period after (forever coupons only)."""

    id: str
    status: str  # "draft" | "open" | "accepted" | "canceled"
    number: str | None
    customer: str
    amount_subtotal: int
    amount_total: int
    recurring_total: int
    interval: str
    expires_at: int
    discount_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClockSnapshot:
    id: str
    frozen_time: int
    status: str


@dataclass(frozen=True)
class VerifiedEvent:
    """A webhook event whose signature checked out (the payload as Stripe sent it)."""

    id: str
    type: str
    created: int
    payload: dict[str, Any]

    @property
    def object(self) -> dict[str, Any]:
        return self.payload.get("data", {}).get("object") or {}


class SignatureError(Exception):
    """A webhook whose signature is missing, wrong, too old or from the future."""
