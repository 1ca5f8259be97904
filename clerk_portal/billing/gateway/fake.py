"""`FakeGateway`: the `BillingGateway` protocol in memory, for unit tests of the billing services.

What it models, simply and exactly (integer cents, Unix seconds):
- products and prices (lookup keys, `transfer_lookup_key`, retiring a price);
- customers, with a credit balance that invoices draw on, and test clocks;
- SetupIntents confirmed by the test (`confirm_setup_intent(id, card_number)`, what Stripe.js
  does in the browser) with Stripe's test cards: 4242… pays, 4000…0002 and 4000…9995 decline,
  4000…3184 asks for 3-D Secure;
- subscriptions of per-unit recurring items billed in advance per calendar month or year: a
  first invoice charged at once (`error_if_incomplete` refuses a declined card and keeps
  nothing; `default_incomplete` leaves it incomplete), a trial (`trial_end`), item and quantity
  changes prorated per second like Stripe (credit for the unused old amount, charge for the
  remaining new one, each rounded half away from zero) into pending invoice items
  (`create_prorations`) or an invoice paid at once (`always_invoice`), a new billing period when
  the interval changes, `proration_behavior=none`, cancel at period end and resume, cancel now;
- invoices: paying (with another card), voiding, listing; previews of the next invoice (the
  pending items plus the next period, or the invoice an `always_invoice` change would create);
- idempotency keys: the same key replays the first answer (or error) and changes nothing; the
  same key with other parameters is refused, as Stripe does.

What it does not model raises `NotImplementedError` naming it (advancing a clock past a period
end or trial end, metered prices, coupons, taxes, schedules...): a test that needs it belongs
with the integration tests against the sandbox.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from clerk_portal.billing.errors import (
    CardDeclined,
    GatewayError,
    NotFoundAtStripe,
    PaymentRequiresAction,
    decline_message,
)
from clerk_portal.billing.gateway.snapshots import (
    CardSnapshot,
    ClockSnapshot,
    CouponInfo,
    CustomerSnapshot,
    InvoiceItemSnapshot,
    InvoicePreview,
    InvoiceSnapshot,
    ItemSnapshot,
    PreviewLine,
    PriceInfo,
    ProductInfo,
    PromotionCodeInfo,
    QuoteSnapshot,
    ScheduleSnapshot,
    SetupIntentResult,
    SubscriptionSnapshot,
    TaxIdInfo,
)

__all__ = ["CARDS", "FakeGateway"]

T = TypeVar("T")

# Stripe's test card numbers: brand, and what a charge does (None: it pays).
CARDS: dict[str, tuple[str, str | None]] = {
    "4242424242424242": ("visa", None),
    "5555555555554444": ("mastercard", None),
    "4000000000000002": ("visa", "generic_decline"),
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000002760003184": ("visa", "authenticate"),
}
# Stripe's test payment method ids, by the card they stand for.
_TEST_PAYMENT_METHODS = {"pm_card_visa": "4242424242424242"}
_AUTHENTICATE = (
    "Your bank asks you to confirm this payment (3-D Secure). Please confirm it or use another "
    "card."
)
_SUBSCRIPTION_PARAMS = {
    "create": {
        "customer",
        "items",
        "default_payment_method",
        "payment_behavior",
        "off_session",
        "metadata",
        "trial_end",
        "billing_mode",  # classic only, as the sandbox
    },
    "update": {
        "items",
        "proration_behavior",
        "proration_date",
        "payment_behavior",
        "off_session",
        "default_payment_method",
        "cancel_at_period_end",
        "cancellation_details",
        "metadata",
    },
    "cancel": {"cancellation_details", "invoice_now", "prorate"},
    "preview": {"items", "proration_behavior", "proration_date", "cancel_at_period_end"},
}


def _not_modelled(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"FakeGateway does not model {what}: test it against the sandbox (tests/integration)."
    )


def _round_half_up(numerator: int, denominator: int) -> int:
    """numerator/denominator rounded half away from zero, in integers (Stripe's prorations)."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    n, d = abs(numerator), abs(denominator)
    return sign * ((2 * n + d) // (2 * d))


def add_interval(at: int, interval: str) -> int:
    """`at` plus one calendar month or year (the day clamped to the month's last)."""
    moment = datetime.fromtimestamp(at, UTC)
    months = {"month": 1, "year": 12}.get(interval)
    if months is None:
        raise _not_modelled(f"the billing interval {interval!r}")
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_first = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    last_day = (next_first - datetime(year, month, 1, tzinfo=UTC)).days
    return int(moment.replace(year=year, month=month, day=min(moment.day, last_day)).timestamp())


@dataclass
class _Card:
    id: str
    number: str
    customer: str | None = None


@dataclass
class _Item:
    id: str
    price_id: str
    quantity: int


@dataclass
class _Subscription:
    id: str
    customer: str
    items: list[_Item]
    status: str
    period: tuple[int, int]
    default_payment_method: str | None
    metadata: dict[str, str]
    trial_end: int | None = None
    cancel_at_period_end: bool = False
    canceled_at: int | None = None
    feedback: str | None = None
    comment: str | None = None
    latest_invoice_id: str | None = None


@dataclass
class _PendingItem:
    id: str
    customer: str
    subscription_id: str | None
    line: PreviewLine


@dataclass
class _State:
    """Everything the fake knows; a write works on a copy and keeps it only if it succeeds."""

    products: dict[str, ProductInfo] = field(default_factory=dict)
    coupons: dict[str, CouponInfo] = field(default_factory=dict)
    promotion_codes: dict[str, PromotionCodeInfo] = field(default_factory=dict)
    prices: dict[str, PriceInfo] = field(default_factory=dict)
    customers: dict[str, CustomerSnapshot] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)  # negative: credit
    clocks: dict[str, ClockSnapshot] = field(default_factory=dict)
    intents: dict[str, SetupIntentResult] = field(default_factory=dict)
    cards: dict[str, _Card] = field(default_factory=dict)
    subscriptions: dict[str, _Subscription] = field(default_factory=dict)
    invoices: dict[str, InvoiceSnapshot] = field(default_factory=dict)
    invoice_lines: dict[str, tuple[PreviewLine, ...]] = field(default_factory=dict)
    pending: dict[str, _PendingItem] = field(default_factory=dict)


class FakeGateway:
    """The protocol in memory. `now` is the time of customers without a test clock."""

    def __init__(self, *, now: int | None = None) -> None:
        self.now = int(time.time()) if now is None else now
        self._state = _State()
        self._ids: dict[str, int] = {}
        self._replies: dict[str, tuple[str, Any, BaseException | None]] = {}
        self.calls: list[str] = []  # the writes and previews asked for, in order (by action)

    # --- test helpers (what the browser or a dashboard does) -----------------------------------

    def confirm_setup_intent(self, setup_intent_id: str, card_number: str) -> CardSnapshot:
        """What Stripe.js does with the card form: attach a new card and succeed the intent."""
        intent = self._state.intents[setup_intent_id]
        if card_number not in CARDS:
            raise _not_modelled(f"the test card {card_number}")
        card = _Card(self._new_id("pm"), card_number, intent.customer)
        self._state.cards[card.id] = card
        self._state.intents[setup_intent_id] = replace(
            intent, status="succeeded", payment_method=card.id
        )
        return self._card(card)

    def subscriptions_of(self, customer_id: str) -> list[SubscriptionSnapshot]:
        return [self._subscription(s) for s in self._subs_of(customer_id)]

    def invoice_lines(self, invoice_id: str) -> tuple[PreviewLine, ...]:
        return self._state.invoice_lines[invoice_id]

    # --- plumbing -------------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._ids[prefix] = self._ids.get(prefix, 0) + 1
        return f"{prefix}_fake{self._ids[prefix]:04d}"

    def _write(self, method: str, key: str | None, params: Any, apply: Callable[[], T]) -> T:
        """Run `apply` on a copy of the state, kept only if it succeeds; a used key replays."""
        self.calls.append(method)
        fingerprint = json.dumps([method, params], sort_keys=True, default=str)
        if key is not None and key in self._replies:
            first, result, error = self._replies[key]
            if first != fingerprint:
                raise GatewayError(
                    f"Stripe could not {method}: Keys for idempotent requests can only be used "
                    "with the same parameters they were first used with."
                )
            if error is not None:
                raise error
            # The replay cache holds every method's answers (Any); a key replays its own method's.
            return result  # type: ignore[no-any-return]
        saved = self._copy_state()
        try:
            result = apply()
        except GatewayError as error:
            self._state = saved
            if key is not None and isinstance(error, CardDeclined | PaymentRequiresAction):
                self._replies[key] = (fingerprint, None, error)  # Stripe keeps a 402's answer
            raise
        except BaseException:
            self._state = saved
            raise
        if key is not None:
            self._replies[key] = (fingerprint, result, None)
        return result

    def _copy_state(self) -> _State:
        state = self._state
        return _State(
            products=dict(state.products),
            prices=dict(state.prices),
            customers=dict(state.customers),
            balances=dict(state.balances),
            clocks=dict(state.clocks),
            intents=dict(state.intents),
            cards={k: replace(v) for k, v in state.cards.items()},
            subscriptions={
                k: replace(v, items=[replace(i) for i in v.items])
                for k, v in state.subscriptions.items()
            },
            invoices=dict(state.invoices),
            invoice_lines=dict(state.invoice_lines),
            pending=dict(state.pending),
        )

    def _get(self, table: Mapping[str, T], object_id: str, kind: str) -> T:
        found = table.get(object_id)
        if found is None:
            raise NotFoundAtStripe(f"Stripe could not read the {kind}: No such {kind}: {object_id}")
        return found

    def _now_for(self, customer_id: str) -> int:
        clock = self._get(self._state.customers, customer_id, "customer").test_clock
        return self._state.clocks[clock].frozen_time if clock else self.now

    @staticmethod
    def _check_params(kind: str, params: Mapping[str, Any]) -> None:
        unknown = set(params) - _SUBSCRIPTION_PARAMS[kind] - {"expand"}
        if unknown:
            raise _not_modelled(f"subscription parameters {sorted(unknown)} ({kind})")

    async def aclose(self) -> None:
        return None

    # --- products and prices ------------------------------------------------------------------

    async def retrieve_product(self, product_id: str) -> ProductInfo | None:
        return self._state.products.get(product_id)

    async def create_product(
        self,
        *,
        product_id: str,
        name: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> ProductInfo:
        def apply() -> ProductInfo:
            if product_id in self._state.products:
                raise GatewayError(f"Stripe could not create product: {product_id} already exists")
            product = ProductInfo(product_id, name, True, dict(metadata))
            self._state.products[product_id] = product
            return product

        return self._write("create product", idempotency_key, [product_id, name, metadata], apply)

    async def update_product(
        self, product_id: str, *, name: str, active: bool, metadata: Mapping[str, str]
    ) -> ProductInfo:
        def apply() -> ProductInfo:
            product = self._get(self._state.products, product_id, "product")
            merged = {**product.metadata, **metadata}
            updated = replace(product, name=name, active=active, metadata=merged)
            self._state.products[product_id] = updated
            return updated

        return self._write("update product", None, None, apply)

    # --- coupons and promotion codes -----------------------------------------------------------

    async def retrieve_coupon(self, coupon_id: str) -> CouponInfo | None:
        return self._state.coupons.get(coupon_id)

    async def create_coupon(
        self,
        *,
        coupon_id: str,
        name: str,
        percent_off: float | None,
        amount_off: int | None,
        currency: str,
        duration: str,
        duration_in_months: int | None,
        idempotency_key: str,
    ) -> CouponInfo:
        terms = [coupon_id, name, percent_off, amount_off, currency, duration, duration_in_months]

        def apply() -> CouponInfo:
            if coupon_id in self._state.coupons:
                raise GatewayError("Stripe could not create the coupon: Coupon already exists.")
            coupon = CouponInfo(
                coupon_id,
                name,
                percent_off,
                amount_off,
                currency if amount_off is not None else None,
                duration,
                duration_in_months,
            )
            self._state.coupons[coupon_id] = coupon
            return coupon

        return self._write("create coupon", idempotency_key, terms, apply)

    async def rename_coupon(self, coupon_id: str, *, name: str) -> CouponInfo:
        def apply() -> CouponInfo:
            coupon = replace(self._get(self._state.coupons, coupon_id, "coupon"), name=name)
            self._state.coupons[coupon_id] = coupon
            return coupon

        return self._write("rename coupon", None, None, apply)

    async def find_promotion_code(self, code: str) -> PromotionCodeInfo | None:
        for promo in self._state.promotion_codes.values():
            if promo.active and promo.code.lower() == code.lower():
                return replace(promo, coupon=self._state.coupons.get(promo.coupon_id))
        return None

    async def create_promotion_code(
        self,
        *,
        code: str,
        coupon_id: str,
        max_redemptions: int | None,
        idempotency_key: str,
    ) -> PromotionCodeInfo:
        def apply() -> PromotionCodeInfo:
            self._get(self._state.coupons, coupon_id, "coupon")
            if any(
                p.active and p.code.lower() == code.lower()
                for p in self._state.promotion_codes.values()
            ):
                raise GatewayError("Stripe could not create the promotion code: code in use.")
            promo = PromotionCodeInfo(
                self._new_id("promo"), code, coupon_id, True, None, max_redemptions
            )
            self._state.promotion_codes[promo.id] = promo
            return promo

        return self._write(
            "create promotion code", idempotency_key, [code, coupon_id, max_redemptions], apply
        )

    async def list_prices_by_lookup_keys(self, lookup_keys: Iterable[str]) -> list[PriceInfo]:
        keys = set(lookup_keys)
        return [p for p in self._state.prices.values() if p.lookup_key in keys]

    async def price_for(self, lookup_key: str) -> PriceInfo:
        for price in self._state.prices.values():
            if price.active and price.lookup_key == lookup_key:
                return price
        raise GatewayError(
            f"Stripe has no price {lookup_key!r}: run `python -m clerk_portal sync-catalog`."
        )

    async def create_price(
        self,
        *,
        product_id: str,
        unit_amount: int,
        currency: str,
        interval: str,
        lookup_key: str,
        idempotency_key: str,
        transfer_lookup_key: bool = True,
        nickname: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> PriceInfo:
        request = [product_id, unit_amount, currency, interval, lookup_key, transfer_lookup_key]

        def apply() -> PriceInfo:
            self._get(self._state.products, product_id, "product")
            for other in list(self._state.prices.values()):
                if other.lookup_key == lookup_key:
                    if not transfer_lookup_key:
                        raise GatewayError(
                            f"Stripe could not create price: lookup key {lookup_key} is in use"
                        )
                    self._state.prices[other.id] = replace(other, lookup_key=None)
            price = PriceInfo(
                self._new_id("price"),
                product_id,
                unit_amount,
                currency,
                interval,
                True,
                lookup_key,
                dict(metadata or {}),
            )
            self._state.prices[price.id] = price
            return price

        return self._write("create price", idempotency_key, request, apply)

    async def set_price_active(self, price_id: str, *, active: bool) -> PriceInfo:
        def apply() -> PriceInfo:
            price = replace(self._get(self._state.prices, price_id, "price"), active=active)
            self._state.prices[price_id] = price
            return price

        return self._write("update price", None, None, apply)

    async def deactivate_price(self, price_id: str) -> PriceInfo:
        return await self.set_price_active(price_id, active=False)

    # --- customers ----------------------------------------------------------------------------

    async def create_customer(
        self,
        *,
        name: str,
        email: str | None,
        metadata: Mapping[str, str],
        idempotency_key: str,
        test_clock: str | None = None,
    ) -> CustomerSnapshot:
        def apply() -> CustomerSnapshot:
            if test_clock:
                self._get(self._state.clocks, test_clock, "test clock")
            customer = CustomerSnapshot(
                self._new_id("cus"),
                email=email,
                name=name,
                test_clock=test_clock,
                metadata=dict(metadata),
                tax_ids=(),
            )
            self._state.customers[customer.id] = customer
            self._state.balances[customer.id] = 0
            return customer

        request = [name, email, metadata, test_clock]
        return self._write("create the customer", idempotency_key, request, apply)

    async def retrieve_customer(self, customer_id: str) -> CustomerSnapshot:
        return self._get(self._state.customers, customer_id, "customer")

    async def update_customer(
        self, customer_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> CustomerSnapshot:
        def apply() -> CustomerSnapshot:
            customer = self._get(self._state.customers, customer_id, "customer")
            unknown = set(params) - {"name", "email", "address", "invoice_settings", "metadata"}
            settings = dict(params.get("invoice_settings") or {})
            if unknown or set(settings) - {"custom_fields"}:
                raise _not_modelled(f"customer parameters {sorted(unknown | set(settings))}")
            changes: dict[str, Any] = {k: params[k] for k in ("name", "email") if k in params}
            if "address" in params:
                address = params["address"]
                changes["address"] = dict(address) if address else None
            if "metadata" in params:
                changes["metadata"] = {**customer.metadata, **params["metadata"]}
            if "custom_fields" in settings:
                fields = settings["custom_fields"] or []
                changes["custom_fields"] = tuple((f["name"], f["value"]) for f in fields)
            updated = replace(customer, **changes)
            self._state.customers[customer_id] = updated
            return updated

        return self._write("update the billing details", idempotency_key, params, apply)

    async def create_tax_id(
        self, customer_id: str, *, type: str, value: str, idempotency_key: str
    ) -> TaxIdInfo:
        def apply() -> TaxIdInfo:
            customer = self._get(self._state.customers, customer_id, "customer")
            created = TaxIdInfo(self._new_id("txi"), type, value.replace(" ", "").upper())
            self._state.customers[customer_id] = replace(
                customer, tax_ids=(*(customer.tax_ids or ()), created)
            )
            return created

        request = [customer_id, type, value]
        return self._write("save the tax id", idempotency_key, request, apply)

    async def delete_tax_id(self, customer_id: str, tax_id: str) -> None:
        def apply() -> None:
            customer = self._get(self._state.customers, customer_id, "customer")
            kept = tuple(t for t in customer.tax_ids or () if t.id != tax_id)
            if len(kept) == len(customer.tax_ids or ()):
                raise GatewayError(
                    f"Stripe could not remove the old tax id: No such tax ID: {tax_id}"
                )
            self._state.customers[customer_id] = replace(customer, tax_ids=kept)

        self._write("remove the old tax id", None, None, apply)

    async def set_default_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> CustomerSnapshot:
        def apply() -> CustomerSnapshot:
            customer = self._get(self._state.customers, customer_id, "customer")
            card = self._get(self._state.cards, payment_method_id, "payment method")
            if card.customer != customer_id:
                raise GatewayError(
                    "Stripe could not make the card the default: The payment method is not "
                    "attached to this customer."
                )
            updated = replace(customer, default_payment_method=payment_method_id)
            self._state.customers[customer_id] = updated
            return updated

        key = f"{customer_id}:default_pm:{payment_method_id}"
        return self._write("make the card the default", key, None, apply)

    # --- setup intents and cards --------------------------------------------------------------

    async def create_setup_intent(
        self, *, customer_id: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> SetupIntentResult:
        def apply() -> SetupIntentResult:
            self._get(self._state.customers, customer_id, "customer")
            intent_id = self._new_id("seti")
            intent = SetupIntentResult(
                intent_id, f"{intent_id}_secret", "requires_payment_method", customer_id
            )
            self._state.intents[intent_id] = intent
            return intent

        request = [customer_id, metadata]
        return self._write("start the card form", idempotency_key, request, apply)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentResult:
        return self._get(self._state.intents, setup_intent_id, "setup intent")

    async def confirm_setup_intent_with(
        self, setup_intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> SetupIntentResult:
        if payment_method not in _TEST_PAYMENT_METHODS:
            raise _not_modelled(f"confirming with {payment_method}")

        def apply() -> SetupIntentResult:
            self.confirm_setup_intent(setup_intent_id, _TEST_PAYMENT_METHODS[payment_method])
            return self._state.intents[setup_intent_id]

        request = [setup_intent_id, payment_method]
        return self._write("confirm the card", idempotency_key, request, apply)

    async def retrieve_payment_method(self, payment_method_id: str) -> CardSnapshot:
        return self._card(self._get(self._state.cards, payment_method_id, "payment method"))

    async def detach_payment_method(self, payment_method_id: str) -> None:
        def apply() -> None:
            self._get(self._state.cards, payment_method_id, "payment method").customer = None

        self._write("remove the old card", f"{payment_method_id}:detach", None, apply)

    def _card(self, card: _Card) -> CardSnapshot:
        brand = CARDS[card.number][0]
        return CardSnapshot(card.id, brand, card.number[-4:], 12, 2034, card.customer)

    # --- subscriptions ------------------------------------------------------------------------

    async def create_subscription(
        self, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        self._check_params("create", params)
        return self._write(
            "start the subscription", idempotency_key, params, lambda: self._create(params)
        )

    def _create(self, params: Mapping[str, Any]) -> SubscriptionSnapshot:
        if params.get("billing_mode", {"type": "classic"}) != {"type": "classic"}:
            raise _not_modelled(f"billing_mode {params['billing_mode']!r}")
        customer_id = str(params["customer"])
        now = self._now_for(customer_id)
        items = [
            _Item(self._new_id("si"), str(entry["price"]), int(entry.get("quantity", 1)))
            for entry in params["items"]
        ]
        interval = self._interval_of(items)
        trial_end = int(params["trial_end"]) if params.get("trial_end") else None
        if trial_end is not None and trial_end <= now:
            raise GatewayError("Stripe could not start the subscription: trial_end is in the past")
        sub = _Subscription(
            id=self._new_id("sub"),
            customer=customer_id,
            items=items,
            status="trialing" if trial_end else "active",
            period=(now, trial_end or add_interval(now, interval)),
            default_payment_method=params.get("default_payment_method"),
            metadata=dict(params.get("metadata") or {}),
            trial_end=trial_end,
        )
        self._state.subscriptions[sub.id] = sub
        lines = [] if trial_end else self._recurring_lines(sub.items, sub.period)
        invoice = self._invoice(sub, lines, "subscription_create", now)
        behaviour = params.get("payment_behavior") or "allow_incomplete"
        if behaviour not in ("error_if_incomplete", "default_incomplete"):
            raise _not_modelled(f"payment_behavior={behaviour}")
        if invoice.amount_due and behaviour == "default_incomplete":
            sub.status = "incomplete"
            outcome = CARDS[self._card_for(sub).number][1]
            if outcome == "authenticate":
                secret = f"{invoice.id}_secret"
                invoice = replace(invoice, confirmation_client_secret=secret)
                self._state.invoices[invoice.id] = invoice
        elif invoice.amount_due:
            self._charge(invoice.id, self._card_for(sub))
        return self._subscription(sub)

    async def update_subscription(
        self, subscription_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        self._check_params("update", params)
        return self._write(
            "change the subscription",
            idempotency_key,
            [subscription_id, params],
            lambda: self._update(subscription_id, params, preview=False),
        )

    def _update(
        self, subscription_id: str, params: Mapping[str, Any], *, preview: bool
    ) -> SubscriptionSnapshot:
        sub = self._get(self._state.subscriptions, subscription_id, "subscription")
        if sub.status in ("canceled", "incomplete_expired") and set(params) - {
            "metadata",
            "cancellation_details",
        }:
            raise GatewayError(
                "Stripe could not change the subscription: A canceled subscription can only "
                "update its cancellation_details and metadata."
            )
        now = self._now_for(sub.customer)
        proration = params.get("proration_behavior") or "create_prorations"
        behaviour = params.get("payment_behavior") or "allow_incomplete"
        at = int(params.get("proration_date") or now)
        if not sub.period[0] <= at <= sub.period[1]:
            raise GatewayError(
                "Stripe could not change the subscription: proration_date must be within the "
                "current period."
            )
        if "default_payment_method" in params:
            sub.default_payment_method = params["default_payment_method"]
        if "metadata" in params:
            sub.metadata = {**sub.metadata, **params["metadata"]}
        if "cancel_at_period_end" in params:
            sub.cancel_at_period_end = bool(params["cancel_at_period_end"])
        details = params.get("cancellation_details") or {}
        if "feedback" in details:
            sub.feedback = details["feedback"] or None
        if "comment" in details:
            sub.comment = details["comment"] or None
        if "items" not in params:
            return self._subscription(sub)
        old_interval = self._interval_of(sub.items)
        old = [replace(item) for item in sub.items]
        sub.items = self._changed_items(sub, params["items"])
        new_interval = self._interval_of(sub.items)
        trialing = sub.status == "trialing"
        immediate: list[PreviewLine] = []
        if new_interval != old_interval:
            if trialing:
                raise _not_modelled("an interval change during a trial")
            if proration != "none":
                for item in old:
                    self._prorate(sub, item, None, now)
            sub.period = (now, add_interval(now, new_interval))
            immediate = self._recurring_lines(sub.items, sub.period)
        elif proration != "none" and not trialing:
            before = {item.id: item for item in old}
            for item in sub.items:
                previous = before.pop(item.id, None)
                if previous is None or (previous.price_id, previous.quantity) != (
                    item.price_id,
                    item.quantity,
                ):
                    self._prorate(sub, previous, item, at)
            for gone in before.values():
                self._prorate(sub, gone, None, at)
        pending = [p for p in self._state.pending.values() if p.subscription_id == sub.id]
        if immediate or (proration == "always_invoice" and pending):
            invoice = self._invoice(sub, immediate, "subscription_update", now)
            if invoice.amount_due and not preview:
                if behaviour == "default_incomplete":
                    raise _not_modelled("payment_behavior=default_incomplete on an update")
                try:
                    self._charge(invoice.id, self._card_for(sub))
                except CardDeclined:
                    if behaviour == "error_if_incomplete":
                        raise  # `_write` restores the state: nothing changed
                    sub.status = "past_due"
        return self._subscription(sub)

    def _changed_items(
        self, sub: _Subscription, entries: Iterable[Mapping[str, Any]]
    ) -> list[_Item]:
        items = {item.id: item for item in sub.items}
        order = [item.id for item in sub.items]
        for entry in entries:
            if set(entry) - {"id", "price", "quantity", "deleted"}:
                raise _not_modelled(f"item parameters {sorted(entry)}")
            if entry.get("id"):
                item = self._get(items, str(entry["id"]), "subscription item")
                if entry.get("deleted"):
                    del items[item.id]
                    order.remove(item.id)
                    continue
                if entry.get("price"):
                    item.price_id = self._get(self._state.prices, entry["price"], "price").id
                if "quantity" in entry:
                    item.quantity = int(entry["quantity"])
            else:
                price = self._get(self._state.prices, str(entry["price"]), "price")
                if any(i.price_id == price.id for i in items.values()):
                    raise GatewayError(
                        "Stripe could not change the subscription: Cannot add multiple "
                        "subscription items with the same price."
                    )
                item = _Item(self._new_id("si"), price.id, int(entry.get("quantity", 1)))
                items[item.id] = item
                order.append(item.id)
        if not order:
            raise GatewayError(
                "Stripe could not change the subscription: A subscription must have at least "
                "one active item."
            )
        return [items[item_id] for item_id in order]

    def _prorate(self, sub: _Subscription, old: _Item | None, new: _Item | None, at: int) -> None:
        """Credit the unused time of `old`, charge the remaining time of `new` (per second)."""
        start, end = sub.period
        span, left = end - start, min(max(end - at, 0), end - start)
        if span <= 0 or left <= 0:
            return
        for sign, side, label in ((-1, old, "Unused time on"), (1, new, "Remaining time on")):
            if side is None or side.quantity == 0:
                continue
            price = self._state.prices[side.price_id]
            amount = sign * _round_half_up((price.unit_amount or 0) * side.quantity * left, span)
            line = PreviewLine(
                f"{label} {side.quantity} × {price.lookup_key}",
                amount,
                side.quantity,
                price.id,
                True,
                at,
                end,
            )
            pending = _PendingItem(self._new_id("ii"), sub.customer, sub.id, line)
            self._state.pending[pending.id] = pending

    async def cancel_subscription(
        self, subscription_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        self._check_params("cancel", params)
        if params.get("invoice_now") or params.get("prorate"):
            raise _not_modelled("invoice_now or prorate on a cancellation")

        def apply() -> SubscriptionSnapshot:
            sub = self._get(self._state.subscriptions, subscription_id, "subscription")
            if sub.status == "canceled":
                raise GatewayError(
                    "Stripe could not cancel the subscription: This subscription is already "
                    "canceled."
                )
            details = params.get("cancellation_details") or {}
            sub.feedback = details.get("feedback") or sub.feedback
            sub.comment = details.get("comment") or sub.comment
            sub.status, sub.canceled_at = "canceled", self._now_for(sub.customer)
            sub.cancel_at_period_end = False
            return self._subscription(sub)

        request = [subscription_id, params]
        return self._write("cancel the subscription", idempotency_key, request, apply)

    async def retrieve_subscription(self, subscription_id: str) -> SubscriptionSnapshot:
        sub = self._get(self._state.subscriptions, subscription_id, "subscription")
        return self._subscription(sub)

    async def create_schedule_from_subscription(
        self, subscription_id: str, *, idempotency_key: str
    ) -> ScheduleSnapshot:
        raise _not_modelled("subscription schedules")

    async def update_schedule(
        self, schedule_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> ScheduleSnapshot:
        raise _not_modelled("subscription schedules")

    async def release_schedule(self, schedule_id: str, *, idempotency_key: str) -> ScheduleSnapshot:
        raise _not_modelled("subscription schedules")

    async def retrieve_schedule(self, schedule_id: str) -> ScheduleSnapshot:
        raise _not_modelled("subscription schedules")

    async def list_subscriptions(self, customer_id: str) -> list[SubscriptionSnapshot]:
        return [self._subscription(sub) for sub in reversed(self._subs_of(customer_id))]

    def _subs_of(self, customer_id: str) -> list[_Subscription]:
        return [s for s in self._state.subscriptions.values() if s.customer == customer_id]

    def _interval_of(self, items: list[_Item]) -> str:
        intervals = {self._get(self._state.prices, i.price_id, "price").interval for i in items}
        if len(intervals) != 1 or None in intervals:
            raise GatewayError(
                "Stripe could not change the subscription: Currency and interval fields must "
                "match across all plans on this subscription."
            )
        return str(intervals.pop())

    def _card_for(self, sub: _Subscription) -> _Card:
        customer = self._state.customers[sub.customer]
        card_id = sub.default_payment_method or customer.default_payment_method
        if card_id is None:
            raise GatewayError(
                "Stripe could not charge the invoice: This customer has no attached payment "
                "source or default payment method."
            )
        return self._get(self._state.cards, card_id, "payment method")

    def _subscription(self, sub: _Subscription) -> SubscriptionSnapshot:
        items = []
        for item in sub.items:
            price = self._state.prices[item.price_id]
            items.append(
                ItemSnapshot(
                    item.id,
                    price.id,
                    price.lookup_key,
                    item.quantity,
                    price.unit_amount or 0,
                    price.interval,
                )
            )
        latest = self._state.invoices.get(sub.latest_invoice_id or "")
        return SubscriptionSnapshot(
            id=sub.id,
            status=sub.status,
            customer=sub.customer,
            items=tuple(items),
            current_period_start=sub.period[0],
            current_period_end=sub.period[1],
            cancel_at_period_end=sub.cancel_at_period_end,
            cancel_at=sub.period[1] if sub.cancel_at_period_end else None,
            canceled_at=sub.canceled_at,
            trial_end=sub.trial_end,
            latest_invoice_id=sub.latest_invoice_id,
            default_payment_method=sub.default_payment_method,
            metadata=dict(sub.metadata),
            cancellation_feedback=sub.feedback,
            cancellation_comment=sub.comment,
            latest_invoice=latest,
        )

    # --- invoices -----------------------------------------------------------------------------

    def _recurring_lines(self, items: list[_Item], period: tuple[int, int]) -> list[PreviewLine]:
        lines = []
        for item in items:
            price = self._state.prices[item.price_id]
            amount = (price.unit_amount or 0) * item.quantity
            description = f"{item.quantity} × {price.lookup_key}"
            lines.append(PreviewLine(description, amount, item.quantity, price.id, False, *period))
        return lines

    def _invoice(
        self, sub: _Subscription, lines: list[PreviewLine], reason: str, now: int
    ) -> InvoiceSnapshot:
        """A finalized invoice of `lines` plus the subscription's pending items, drawing on the
        customer's credit balance (a negative total becomes credit)."""
        pending = [p for p in self._state.pending.values() if p.subscription_id == sub.id]
        for item in pending:
            del self._state.pending[item.id]
        every = (*(p.line for p in pending), *lines)
        total = sum(line.amount for line in every)
        balance = self._state.balances[sub.customer]
        due = max(0, total + balance)
        self._state.balances[sub.customer] = min(0, total + balance)
        number = len(self._state.invoices) + 1
        invoice = InvoiceSnapshot(
            id=self._new_id("in"),
            customer=sub.customer,
            subscription_id=sub.id,
            number=f"FAKE-{number:04d}",
            status="open" if due else "paid",
            currency="usd",
            subtotal=total,
            total=total,
            amount_due=due,
            amount_paid=0,
            amount_remaining=due,
            period_start=min((line.period_start or now for line in every), default=now),
            period_end=max((line.period_end or now for line in every), default=now),
            created=now,
            billing_reason=reason,
        )
        self._state.invoices[invoice.id] = invoice
        self._state.invoice_lines[invoice.id] = every
        sub.latest_invoice_id = invoice.id
        return invoice

    def _charge(self, invoice_id: str, card: _Card) -> InvoiceSnapshot:
        invoice = self._state.invoices[invoice_id]
        outcome = CARDS[card.number][1]
        if outcome == "authenticate":
            raise PaymentRequiresAction(_AUTHENTICATE)
        if outcome is not None:
            raise CardDeclined(decline_message("card_declined", outcome), decline_code=outcome)
        paid = replace(invoice, status="paid", amount_paid=invoice.amount_due, amount_remaining=0)
        self._state.invoices[invoice_id] = paid
        sub = self._state.subscriptions.get(paid.subscription_id or "")
        if sub is not None and sub.status in ("incomplete", "past_due"):
            sub.status = "active"
        return paid

    async def retrieve_invoice(self, invoice_id: str) -> InvoiceSnapshot:
        return self._get(self._state.invoices, invoice_id, "invoice")

    async def list_invoices(self, customer_id: str, *, limit: int = 100) -> list[InvoiceSnapshot]:
        mine = [i for i in self._state.invoices.values() if i.customer == customer_id]
        return list(reversed(mine))[:limit]

    async def pay_invoice(
        self, invoice_id: str, *, payment_method_id: str | None, idempotency_key: str
    ) -> InvoiceSnapshot:
        def apply() -> InvoiceSnapshot:
            invoice = self._get(self._state.invoices, invoice_id, "invoice")
            if invoice.status != "open":
                raise GatewayError(f"Stripe could not pay the invoice: Invoice is {invoice.status}")
            if payment_method_id:
                card = self._get(self._state.cards, payment_method_id, "payment method")
            else:
                card = self._card_for(self._state.subscriptions[invoice.subscription_id or ""])
            return self._charge(invoice_id, card)

        request = [invoice_id, payment_method_id]
        return self._write("pay the invoice", idempotency_key, request, apply)

    async def pay_invoice_out_of_band(
        self, invoice_id: str, *, idempotency_key: str
    ) -> InvoiceSnapshot:
        def apply() -> InvoiceSnapshot:
            invoice = self._get(self._state.invoices, invoice_id, "invoice")
            if invoice.status != "open":
                raise GatewayError(f"Stripe could not pay the invoice: Invoice is {invoice.status}")
            paid = replace(
                invoice, status="paid", amount_paid=invoice.amount_due, amount_remaining=0
            )
            self._state.invoices[invoice_id] = paid
            sub = self._state.subscriptions.get(paid.subscription_id or "")
            if sub is not None and sub.status in ("incomplete", "past_due"):
                sub.status = "active"
            return paid

        return self._write("mark the invoice paid", idempotency_key, [invoice_id], apply)

    async def void_invoice(self, invoice_id: str, *, idempotency_key: str) -> InvoiceSnapshot:
        def apply() -> InvoiceSnapshot:
            invoice = self._get(self._state.invoices, invoice_id, "invoice")
            if invoice.status != "open":
                raise GatewayError(
                    f"Stripe could not void the invoice: You can only void an open invoice "
                    f"(this one is {invoice.status})."
                )
            voided = replace(invoice, status="void", amount_remaining=0)
            self._state.invoices[invoice_id] = voided
            return voided

        return self._write("void the invoice", idempotency_key, invoice_id, apply)

    async def list_pending_invoice_items(self, customer_id: str) -> list[InvoiceItemSnapshot]:
        mine = [p for p in self._state.pending.values() if p.customer == customer_id]
        return [
            InvoiceItemSnapshot(p.id, p.line.amount, p.line.proration, p.subscription_id)
            for p in reversed(mine)
        ][:100]

    async def preview_invoice(self, params: Mapping[str, Any]) -> InvoicePreview:
        """The invoice an update would create at once, else the next renewal's; on a copy of
        the state, which is thrown away."""
        self.calls.append("preview_invoice")
        if set(params) - {"subscription", "subscription_details"}:
            raise _not_modelled(f"preview parameters {sorted(params)}")
        details = dict(params.get("subscription_details") or {})
        self._check_params("preview", details)
        saved, ids = self._copy_state(), dict(self._ids)
        try:
            return self._preview(str(params["subscription"]), details)
        finally:
            self._state, self._ids = saved, ids

    def _preview(self, subscription_id: str, details: dict[str, Any]) -> InvoicePreview:
        sub = self._get(self._state.subscriptions, subscription_id, "subscription")
        latest = sub.latest_invoice_id
        if details:
            self._update(subscription_id, details, preview=True)
        if sub.latest_invoice_id != latest:  # the update invoiced at once
            invoice = self._state.invoices[sub.latest_invoice_id or ""]
        else:
            ends = sub.cancel_at_period_end and details.get("cancel_at_period_end") is not False
            if sub.status not in ("active", "past_due", "trialing") or ends:
                raise GatewayError(
                    "Stripe could not preview the invoice: No upcoming invoices for "
                    f"subscription: {sub.id}"
                )
            start = sub.period[1]
            period = (start, add_interval(start, self._interval_of(sub.items)))
            lines = self._recurring_lines(sub.items, period)
            invoice = self._invoice(sub, lines, "subscription_cycle", start)
        return InvoicePreview(
            amount_due=invoice.amount_due,
            subtotal=invoice.subtotal,
            total=invoice.total,
            currency=invoice.currency,
            lines=self._state.invoice_lines[invoice.id],
            period_start=invoice.period_start,
            period_end=invoice.period_end,
        )

    # --- test clocks --------------------------------------------------------------------------

    async def create_test_clock(
        self, *, frozen_time: int, name: str, idempotency_key: str
    ) -> ClockSnapshot:
        def apply() -> ClockSnapshot:
            clock = ClockSnapshot(self._new_id("clock"), frozen_time, "ready")
            self._state.clocks[clock.id] = clock
            return clock

        request = [frozen_time, name]
        return self._write("create a test clock", idempotency_key, request, apply)

    async def retrieve_test_clock(self, clock_id: str) -> ClockSnapshot:
        return self._get(self._state.clocks, clock_id, "test clock")

    async def delete_test_clock(self, clock_id: str) -> None:
        def apply() -> None:
            if self._state.clocks.pop(clock_id, None) is None:
                return
            for customer_id, customer in list(self._state.customers.items()):
                if customer.test_clock == clock_id:
                    del self._state.customers[customer_id]

        self._write("delete the test clock", f"{clock_id}:delete", None, apply)

    async def advance_test_clock(
        self, clock_id: str, *, frozen_time: int, idempotency_key: str
    ) -> ClockSnapshot:
        def apply() -> ClockSnapshot:
            clock = self._get(self._state.clocks, clock_id, "test clock")
            if frozen_time < clock.frozen_time:
                raise GatewayError("Stripe could not advance the test clock: it only moves forward")
            for sub in self._state.subscriptions.values():
                customer = self._state.customers[sub.customer]
                live = sub.status not in ("canceled", "incomplete_expired")
                if customer.test_clock == clock_id and live and frozen_time >= sub.period[1]:
                    raise _not_modelled("renewals, trial ends and cancellations on a test clock")
            advanced = replace(clock, frozen_time=frozen_time)
            self._state.clocks[clock_id] = advanced
            return advanced

        request = [clock_id, frozen_time]
        return self._write("advance the test clock", idempotency_key, request, apply)

    # --- quotes: not modelled (tests/integration/billing/test_quotes.py uses the sandbox) -----

    async def create_quote(
        self, params: Mapping[str, Any], *, idempotency_key: str
    ) -> QuoteSnapshot:
        raise _not_modelled("quotes")

    async def finalize_quote(self, quote_id: str, *, idempotency_key: str) -> QuoteSnapshot:
        raise _not_modelled("quotes")

    async def retrieve_quote(self, quote_id: str) -> QuoteSnapshot:
        raise _not_modelled("quotes")

    async def cancel_quote(self, quote_id: str, *, idempotency_key: str) -> QuoteSnapshot:
        raise _not_modelled("quotes")

    async def quote_pdf(self, quote_id: str) -> bytes:
        raise _not_modelled("quotes")
