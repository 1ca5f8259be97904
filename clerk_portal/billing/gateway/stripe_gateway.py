"""The only module that imports `stripe`: an async StripeClient behind small typed results.

Production talks to Stripe; demos and tests talk to the sandbox (`STRIPE_API_BASE`). Every write
carries an explicit idempotency key derived from the business action (the caller builds it), so a
retried click, a crashed worker or the SDK's own network retries repeat nothing. Results are frozen
dataclasses, never Stripe objects; Stripe's exceptions become `billing.errors` with a message fit
for a toast. A 429 is retried here (the SDK retries only 5xx, 409 and connection errors).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe

from clerk_portal.billing.errors import (
    CardDeclined,
    GatewayError,
    NotFoundAtStripe,
    OutcomeUnknown,
    PaymentRequiresAction,
    StripeUnavailable,
    decline_message,
)
from clerk_portal.core.settings import Settings, get_settings

__all__ = [
    "CardSnapshot",
    "ClockSnapshot",
    "CustomerSnapshot",
    "GatewayError",
    "InvoiceItemSnapshot",
    "InvoicePreview",
    "InvoiceSnapshot",
    "ItemSnapshot",
    "PreviewLine",
    "PriceInfo",
    "ProductInfo",
    "SetupIntentResult",
    "SignatureError",
    "StripeGateway",
    "SubscriptionSnapshot",
    "VerifiedEvent",
    "verify_webhook",
]

_LOOKUP_KEYS_PER_LIST = 10  # Stripe's limit for `lookup_keys[]` on GET /v1/prices
_RATE_LIMIT_RETRIES = 3
_PRICE_CACHE_SECONDS = 300
SIGNATURE_TOLERANCE = 300  # seconds, both ways: older or newer than this is refused
UNAVAILABLE = (
    "Stripe is not answering right now, so nothing was changed or charged. "
    "Please try again in a minute."
)
# A write whose answer never came may have been applied: never claim it was not.
OUTCOME_UNKNOWN = (
    "Stripe did not answer in time, so it is not known yet whether this went through. Nothing "
    "is charged twice: the billing page shows the result as soon as Stripe confirms it."
)


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductInfo:
    id: str
    name: str
    active: bool
    metadata: dict[str, str] = field(default_factory=dict)


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


# The decision document calls the small customer result `CustomerRef`.
CustomerRef = CustomerSnapshot


@dataclass(frozen=True)
class SetupIntentResult:
    id: str
    client_secret: str | None
    status: str
    customer: str | None = None
    payment_method: str | None = None


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
    # Only when expanded: what the browser needs to confirm the payment (3-D Secure).
    confirmation_client_secret: str | None = None


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


# --- webhook signatures -----------------------------------------------------------------------


def verify_webhook(
    payload: bytes, header: str | None, secret: str, *, tolerance: int = SIGNATURE_TOLERANCE
) -> VerifiedEvent:
    """Check `Stripe-Signature` (HMAC, any `v1=`, age) and that `t=` is not in the future.

    stripe-python rejects old timestamps only; a timestamp more than `tolerance` seconds ahead of
    our clock is refused here as well (a replayable signature minted for later).
    """
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise SignatureError(str(error).split("\n")[0] or "bad signature") from None
    stamps = [part[2:] for part in header.split(",") if part.strip().startswith("t=")]
    try:
        timestamp = int(stamps[0].strip())
    except (IndexError, ValueError):
        raise SignatureError("no timestamp in the signature") from None
    if timestamp > time.time() + tolerance:
        raise SignatureError("timestamp is in the future")
    try:
        data = json.loads(text)
    except ValueError:
        raise SignatureError("payload is not JSON") from None
    if not isinstance(data, dict) or not data.get("id") or not data.get("type"):
        raise SignatureError("payload is not a Stripe event")
    created = data.get("created")  # its shape is the webhook's to judge (a 400, recorded)
    created = created if isinstance(created, int) and abs(created) < 2**62 else 0
    return VerifiedEvent(str(data["id"]), str(data["type"]), created, data)


# --- the gateway ------------------------------------------------------------------------------


class StripeGateway:
    """Async Stripe calls; one instance per event loop (its HTTP pool belongs to that loop)."""

    def __init__(self, client: stripe.StripeClient, http_client: stripe.HTTPClient) -> None:
        self._client = client
        self._http_client = http_client
        self._prices: dict[str, tuple[float, PriceInfo]] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, timeout: float = 30, max_network_retries: int = 2
    ) -> StripeGateway:
        settings = settings or get_settings()
        http_client = stripe.HTTPXClient(timeout=timeout)
        base = settings.stripe_api_base_url
        client = stripe.StripeClient(
            settings.stripe_secret,
            base_addresses={"api": base} if base else None,
            http_client=http_client,
            max_network_retries=max_network_retries,
        )
        return cls(client, http_client)

    async def aclose(self) -> None:
        await self._http_client.close_async()

    async def __aenter__(self) -> StripeGateway:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    @property
    def v1(self) -> Any:
        return self._client.v1

    # --- products -----------------------------------------------------------------------------

    async def retrieve_product(self, product_id: str) -> ProductInfo | None:
        """The product, or None when Stripe has no product with that id."""
        try:
            product = await self._client.v1.products.retrieve_async(product_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise _gateway_error("retrieve product", error) from error
        except stripe.StripeError as error:
            raise _gateway_error("retrieve product", error) from error
        return _product(product)

    async def create_product(
        self,
        *,
        product_id: str,
        name: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> ProductInfo:
        params: Any = {"id": product_id, "name": name, "metadata": dict(metadata)}
        product = await self._call(
            "create product",
            lambda: self.v1.products.create_async(params, {"idempotency_key": idempotency_key}),
        )
        return _product(product)

    async def update_product(
        self, product_id: str, *, name: str, active: bool, metadata: Mapping[str, str]
    ) -> ProductInfo:
        params: Any = {"name": name, "active": active, "metadata": dict(metadata)}
        product = await self._call(
            "update product", lambda: self.v1.products.update_async(product_id, params)
        )
        return _product(product)

    # --- prices -------------------------------------------------------------------------------

    async def list_prices_by_lookup_keys(self, lookup_keys: Iterable[str]) -> list[PriceInfo]:
        """Every price (active or not) that holds one of the lookup keys."""
        keys = list(dict.fromkeys(lookup_keys))
        found: list[PriceInfo] = []
        for start in range(0, len(keys), _LOOKUP_KEYS_PER_LIST):
            params: Any = {"lookup_keys": keys[start : start + _LOOKUP_KEYS_PER_LIST], "limit": 100}
            page = await self._call("list prices", lambda p=params: self.v1.prices.list_async(p))
            found += [_price(price) for price in page.data]
        return found

    async def price_for(self, lookup_key: str) -> PriceInfo:
        """The active price holding `lookup_key` (cached for a few minutes)."""
        cached = self._prices.get(lookup_key)
        if cached and time.monotonic() - cached[0] < _PRICE_CACHE_SECONDS:
            return cached[1]
        from clerk_portal.billing.catalog import get_catalog

        now = time.monotonic()
        for price in await self.list_prices_by_lookup_keys(get_catalog().lookup_keys()):
            if price.active and price.lookup_key:
                self._prices[price.lookup_key] = (now, price)
        cached = self._prices.get(lookup_key)
        if cached is None:
            raise GatewayError(
                f"Stripe has no price {lookup_key!r}: run `python -m clerk_portal sync-catalog`."
            )
        return cached[1]

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
        """A recurring per-unit price; `transfer_lookup_key` takes the key from its holder."""
        params: Any = {
            "product": product_id,
            "unit_amount": unit_amount,
            "currency": currency,
            "recurring": {"interval": interval, "usage_type": "licensed"},
            "lookup_key": lookup_key,
            "transfer_lookup_key": transfer_lookup_key,
            "metadata": dict(metadata or {}),
        }
        if nickname:
            params["nickname"] = nickname
        price = await self._call(
            "create price",
            lambda: self.v1.prices.create_async(params, {"idempotency_key": idempotency_key}),
        )
        self._prices.clear()
        return _price(price)

    async def set_price_active(self, price_id: str, *, active: bool) -> PriceInfo:
        """Prices are immutable but can be retired (`active=False`) or brought back.

        No explicit idempotency key: setting a flag is idempotent by itself, and a key per price
        would replay a stale answer after the flag went back and forth within 24 hours.
        """
        params: Any = {"active": active}
        price = await self._call(
            "update price", lambda: self.v1.prices.update_async(price_id, params)
        )
        self._prices.clear()
        return _price(price)

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
        params: Any = {"name": name, "metadata": dict(metadata)}
        if email:
            params["email"] = email
        if test_clock:
            params["test_clock"] = test_clock
        customer = await self._call(
            "create the customer",
            lambda: self.v1.customers.create_async(params, {"idempotency_key": idempotency_key}),
        )
        return _customer(customer)

    async def retrieve_customer(self, customer_id: str) -> CustomerSnapshot:
        customer = await self._call(
            "read the customer", lambda: self.v1.customers.retrieve_async(customer_id)
        )
        return _customer(customer)

    async def update_customer(
        self, customer_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> CustomerSnapshot:
        customer = await self._call(
            "update the billing details",
            lambda: self.v1.customers.update_async(
                customer_id, dict(params), {"idempotency_key": idempotency_key}
            ),
        )
        return _customer(customer)

    async def set_default_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> CustomerSnapshot:
        params: Any = {"invoice_settings": {"default_payment_method": payment_method_id}}
        customer = await self._call(
            "make the card the default",
            lambda: self.v1.customers.update_async(
                customer_id,
                params,
                {"idempotency_key": f"{customer_id}:default_pm:{payment_method_id}"},
            ),
        )
        return _customer(customer)

    # --- setup intents and payment methods ----------------------------------------------------

    async def create_setup_intent(
        self, *, customer_id: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> SetupIntentResult:
        params: Any = {
            "customer": customer_id,
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": dict(metadata),
        }
        intent = await self._call(
            "start the card form",
            lambda: self.v1.setup_intents.create_async(
                params, {"idempotency_key": idempotency_key}
            ),
        )
        return _setup_intent(intent)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentResult:
        intent = await self._call(
            "read the card confirmation",
            lambda: self.v1.setup_intents.retrieve_async(setup_intent_id),
        )
        return _setup_intent(intent)

    async def retrieve_payment_method(self, payment_method_id: str) -> CardSnapshot:
        pm = await self._call(
            "read the card", lambda: self.v1.payment_methods.retrieve_async(payment_method_id)
        )
        return _card(pm)

    async def detach_payment_method(self, payment_method_id: str) -> None:
        try:
            await self._call(
                "remove the old card",
                lambda: self.v1.payment_methods.detach_async(
                    payment_method_id, options={"idempotency_key": f"{payment_method_id}:detach"}
                ),
            )
        except GatewayError as error:
            if "not attached" not in error.message:
                raise

    # --- subscriptions ------------------------------------------------------------------------

    async def create_subscription(
        self, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        body: Any = {**params, "expand": ["latest_invoice", "latest_invoice.confirmation_secret"]}
        sub = await self._call(
            "start the subscription",
            lambda: self.v1.subscriptions.create_async(body, {"idempotency_key": idempotency_key}),
            write=True,
        )
        return _subscription(sub)

    async def update_subscription(
        self, subscription_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        body: Any = {**params, "expand": ["latest_invoice"]}
        sub = await self._call(
            "change the subscription",
            lambda: self.v1.subscriptions.update_async(
                subscription_id, body, {"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return _subscription(sub)

    async def cancel_subscription(
        self, subscription_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        body: Any = dict(params)
        sub = await self._call(
            "cancel the subscription",
            lambda: self.v1.subscriptions.cancel_async(
                subscription_id, body, {"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return _subscription(sub)

    async def retrieve_subscription(self, subscription_id: str) -> SubscriptionSnapshot:
        params: Any = {"expand": ["latest_invoice"]}
        sub = await self._call(
            "read the subscription",
            lambda: self.v1.subscriptions.retrieve_async(subscription_id, params),
        )
        return _subscription(sub)

    async def list_subscriptions(self, customer_id: str) -> list[SubscriptionSnapshot]:
        params: Any = {"customer": customer_id, "status": "all", "limit": 100}
        page = await self._call(
            "list subscriptions", lambda: self.v1.subscriptions.list_async(params)
        )
        return [_subscription(sub) for sub in page.data]

    # --- invoices -----------------------------------------------------------------------------

    async def retrieve_invoice(self, invoice_id: str) -> InvoiceSnapshot:
        invoice = await self._call(
            "read the invoice", lambda: self.v1.invoices.retrieve_async(invoice_id)
        )
        return _invoice(invoice)

    async def list_invoices(self, customer_id: str, *, limit: int = 100) -> list[InvoiceSnapshot]:
        params: Any = {"customer": customer_id, "limit": limit}
        page = await self._call("list invoices", lambda: self.v1.invoices.list_async(params))
        return [_invoice(invoice) for invoice in page.data]

    async def pay_invoice(
        self, invoice_id: str, *, payment_method_id: str | None, idempotency_key: str
    ) -> InvoiceSnapshot:
        params: Any = {"off_session": True}
        if payment_method_id:
            params["payment_method"] = payment_method_id
        invoice = await self._call(
            "pay the invoice",
            lambda: self.v1.invoices.pay_async(
                invoice_id, params, {"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return _invoice(invoice)

    async def void_invoice(self, invoice_id: str, *, idempotency_key: str) -> InvoiceSnapshot:
        """Void a finalized invoice (a replay with the same key answers the first void)."""
        invoice = await self._call(
            "void the invoice",
            lambda: self.v1.invoices.void_invoice_async(
                invoice_id, options={"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return _invoice(invoice)

    async def list_pending_invoice_items(self, customer_id: str) -> list[InvoiceItemSnapshot]:
        """The customer's newest 100 invoice items not yet on an invoice (prorations among them)."""
        params: Any = {"customer": customer_id, "pending": True, "limit": 100}
        page = await self._call(
            "list invoice items", lambda: self.v1.invoice_items.list_async(params)
        )
        return [_invoice_item(item) for item in page.data]

    async def preview_invoice(self, params: Mapping[str, Any]) -> InvoicePreview:
        """`POST /v1/invoices/create_preview` (reads only: no idempotency key needed)."""
        body: Any = dict(params)
        invoice = await self._call(
            "preview the invoice", lambda: self.v1.invoices.create_preview_async(body)
        )
        return _preview(invoice)

    # --- test clocks and events ---------------------------------------------------------------

    async def create_test_clock(
        self, *, frozen_time: int, name: str, idempotency_key: str
    ) -> ClockSnapshot:
        params: Any = {"frozen_time": frozen_time, "name": name}
        clock = await self._call(
            "create a test clock",
            lambda: self.v1.test_helpers.test_clocks.create_async(
                params, {"idempotency_key": idempotency_key}
            ),
        )
        return _clock(clock)

    async def retrieve_test_clock(self, clock_id: str) -> ClockSnapshot:
        clock = await self._call(
            "read the test clock", lambda: self.v1.test_helpers.test_clocks.retrieve_async(clock_id)
        )
        return _clock(clock)

    async def advance_test_clock(
        self, clock_id: str, *, frozen_time: int, idempotency_key: str
    ) -> ClockSnapshot:
        params: Any = {"frozen_time": frozen_time}
        clock = await self._call(
            "advance the test clock",
            lambda: self.v1.test_helpers.test_clocks.advance_async(
                clock_id, params, {"idempotency_key": idempotency_key}
            ),
        )
        return _clock(clock)

    async def retrieve_event(self, event_id: str) -> dict[str, Any]:
        event = await self._call("read the event", lambda: self.v1.events.retrieve_async(event_id))
        return event.to_dict()

    async def list_events(self, *, limit: int = 100, starting_after: str | None = None) -> Any:
        params: Any = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        page = await self._call("list events", lambda: self.v1.events.list_async(params))
        return [event.to_dict() for event in page.data], bool(page.has_more)

    # --- plumbing -----------------------------------------------------------------------------

    @staticmethod
    async def _call(action: str, request: Any, *, write: bool = False) -> Any:
        """Run `request()` (a coroutine factory); retry 429s, map every Stripe error.

        `write`: a timeout, a lost connection or a 5xx leaves the outcome unknown (Stripe may
        have applied it), so the error says so rather than "nothing was changed".
        """
        for attempt in range(_RATE_LIMIT_RETRIES + 1):
            try:
                return await request()
            except stripe.RateLimitError as error:
                if attempt == _RATE_LIMIT_RETRIES:
                    raise StripeUnavailable(UNAVAILABLE) from error
                await asyncio.sleep(0.5 * 2**attempt)
            except stripe.StripeError as error:
                mapped = _gateway_error(action, error)
                if write and type(mapped) is StripeUnavailable:
                    mapped = OutcomeUnknown(OUTCOME_UNKNOWN)
                raise mapped from error
        raise AssertionError("unreachable")


def _gateway_error(action: str, error: stripe.StripeError) -> GatewayError:
    if isinstance(error, stripe.CardError):
        code = getattr(error, "code", None)
        decline = (error.json_body or {}).get("error", {}).get("decline_code")
        if code == "authentication_required" or decline == "authentication_required":
            return PaymentRequiresAction(
                "Your bank asks you to confirm this payment (3-D Secure). Please confirm it or "
                "use another card."
            )
        return CardDeclined(decline_message(code, decline), decline_code=decline or code)
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        return StripeUnavailable(UNAVAILABLE)
    if error.http_status and error.http_status >= 500:
        return StripeUnavailable(UNAVAILABLE)
    reason = error.user_message or str(error) or type(error).__name__
    if error.http_status == 404:
        return NotFoundAtStripe(f"Stripe could not {action}: {reason}")
    return GatewayError(f"Stripe could not {action}: {reason}")


# --- converters -------------------------------------------------------------------------------


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
    return _get(value, "id")


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    return value.to_dict() if hasattr(value, "to_dict") else dict(value)


def _product(product: Any) -> ProductInfo:
    return ProductInfo(
        id=product.id,
        name=product.name,
        active=bool(product.active),
        metadata=_metadata(product.metadata),
    )


def _price(price: Any) -> PriceInfo:
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


def _customer(customer: Any) -> CustomerSnapshot:
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
    )


_ADDRESS_KEYS = ("line1", "line2", "city", "state", "postal_code", "country")


def _setup_intent(intent: Any) -> SetupIntentResult:
    return SetupIntentResult(
        id=_get(intent, "id"),
        client_secret=_get(intent, "client_secret"),
        status=_get(intent, "status"),
        customer=_id(_get(intent, "customer")),
        payment_method=_id(_get(intent, "payment_method")),
    )


def _card(pm: Any) -> CardSnapshot:
    card = _get(pm, "card") or {}
    return CardSnapshot(
        id=_get(pm, "id"),
        brand=_get(card, "brand"),
        last4=_get(card, "last4"),
        exp_month=_get(card, "exp_month"),
        exp_year=_get(card, "exp_year"),
        customer=_id(_get(pm, "customer")),
    )


def _item(item: Any) -> ItemSnapshot:
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


def _subscription(sub: Any) -> SubscriptionSnapshot:
    raw_items = _get(_get(sub, "items"), "data") or []
    items = tuple(_item(item) for item in raw_items)
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
        latest_invoice=_invoice(latest)
        if latest is not None and not isinstance(latest, str)
        else None,
    )


def _invoice(invoice: Any) -> InvoiceSnapshot:
    parent = _get(invoice, "parent") or {}
    sub_details = _get(parent, "subscription_details") or {}
    subscription = _id(_get(sub_details, "subscription")) or _id(_get(invoice, "subscription"))
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
        confirmation_client_secret=_get(
            _get(invoice, "confirmation_secret") or {}, "client_secret"
        ),
    )


def _invoice_item(item: Any) -> InvoiceItemSnapshot:
    parent = _get(item, "parent") or {}
    details = _get(parent, "subscription_details") or {}
    return InvoiceItemSnapshot(
        id=_get(item, "id"),
        amount=int(_get(item, "amount") or 0),
        proration=bool(_get(item, "proration")),
        subscription_id=_id(_get(details, "subscription")) or _id(_get(item, "subscription")),
    )


def _preview(invoice: Any) -> InvoicePreview:
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


def _clock(clock: Any) -> ClockSnapshot:
    return ClockSnapshot(
        id=_get(clock, "id"),
        frozen_time=int(_get(clock, "frozen_time") or 0),
        status=_get(clock, "status") or "ready",
    )
