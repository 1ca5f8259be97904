"""`StripeGateway`: the `BillingGateway` protocol over stripe-python's async `StripeClient`.

Client set-up (`from_settings`: the secret key, `STRIPE_API_BASE` for the sandbox, the HTTPX pool,
the timeout and the SDK's network retries) and one method per call. Every write carries an
explicit idempotency key; every request goes through `errors.call`; every answer is converted by
`convert` before it leaves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import stripe

from clerk_portal.billing.errors import GatewayError, NotFoundAtStripe
from clerk_portal.billing.gateway.keys import default_payment_method_key, detach_key
from clerk_portal.billing.gateway.snapshots import (
    CardSnapshot,
    ClockSnapshot,
    CouponInfo,
    CustomerSnapshot,
    InvoiceItemSnapshot,
    InvoicePreview,
    InvoiceSnapshot,
    PriceInfo,
    ProductInfo,
    PromotionCodeInfo,
    QuoteSnapshot,
    ScheduleSnapshot,
    SetupIntentResult,
    SubscriptionSnapshot,
    TaxIdInfo,
)
from clerk_portal.billing.gateway.stripe import convert
from clerk_portal.billing.gateway.stripe.errors import call, gateway_error
from clerk_portal.core.settings import Settings, get_settings

SCHEDULE_PRICES = "phases.items.price"  # their lookup keys name the plan of each phase

__all__ = ["StripeGateway"]

_LOOKUP_KEYS_PER_LIST = 10  # Stripe's limit for `lookup_keys[]` on GET /v1/prices
_PRICE_CACHE_SECONDS = 300


class StripeGateway:
    """Async Stripe calls; one instance per event loop (its HTTP pool belongs to that loop)."""

    def __init__(
        self,
        client: stripe.StripeClient,
        http_client: stripe.HTTPClient,
        *,
        timeout: float | None = None,
        max_network_retries: int | None = None,
    ) -> None:
        self._client = client
        self._http_client = http_client
        self._prices: dict[str, tuple[float, PriceInfo]] = {}
        # How patient this gateway is (seconds per connect and per read; the SDK's retries).
        self.timeout = timeout
        self.max_network_retries = max_network_retries

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, timeout: float = 30, max_network_retries: int = 2
    ) -> StripeGateway:
        settings = settings or get_settings()
        http_client = stripe.HTTPXClient(timeout=timeout)
        base = settings.stripe_api_base_url
        client = stripe.StripeClient(
            settings.stripe_secret,
            # quote PDFs come from Stripe's "files" address: the sandbox serves both
            base_addresses={"api": base, "files": base} if base else None,
            http_client=http_client,
            max_network_retries=max_network_retries,
        )
        return cls(client, http_client, timeout=timeout, max_network_retries=max_network_retries)

    async def aclose(self) -> None:
        # stripe's HTTPXClient.close_async() has no annotations.
        await self._http_client.close_async()  # type: ignore[no-untyped-call]

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
            raise gateway_error("retrieve product", error) from error
        except stripe.StripeError as error:
            raise gateway_error("retrieve product", error) from error
        return convert.to_product(product)

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
        return convert.to_product(product)

    async def update_product(
        self, product_id: str, *, name: str, active: bool, metadata: Mapping[str, str]
    ) -> ProductInfo:
        params: Any = {"name": name, "active": active, "metadata": dict(metadata)}
        product = await self._call(
            "update product", lambda: self.v1.products.update_async(product_id, params)
        )
        return convert.to_product(product)

    # --- prices -------------------------------------------------------------------------------

    async def list_prices_by_lookup_keys(self, lookup_keys: Iterable[str]) -> list[PriceInfo]:
        """Every price (active or not) that holds one of the lookup keys."""
        keys = list(dict.fromkeys(lookup_keys))
        found: list[PriceInfo] = []
        for start in range(0, len(keys), _LOOKUP_KEYS_PER_LIST):
            params: Any = {"lookup_keys": keys[start : start + _LOOKUP_KEYS_PER_LIST], "limit": 100}
            page = await self._call("list prices", partial(self.v1.prices.list_async, params))
            found += [convert.to_price(price) for price in page.data]
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
        return convert.to_price(price)

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
        return convert.to_price(price)

    async def deactivate_price(self, price_id: str) -> PriceInfo:
        return await self.set_price_active(price_id, active=False)

    # --- customers ----------------------------------------------------------------------------

    # --- coupons and promotion codes -----------------------------------------------------------

    async def retrieve_coupon(self, coupon_id: str) -> CouponInfo | None:
        try:
            coupon = await self._client.v1.coupons.retrieve_async(coupon_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise gateway_error("read the coupon", error) from error
        except stripe.StripeError as error:
            raise gateway_error("read the coupon", error) from error
        return convert.to_coupon(coupon)

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
        params: Any = {"id": coupon_id, "name": name, "duration": duration}
        if percent_off is not None:
            params["percent_off"] = percent_off
        else:
            params["amount_off"], params["currency"] = amount_off, currency
        if duration_in_months is not None:
            params["duration_in_months"] = duration_in_months
        coupon = await self._call(
            "create the coupon",
            lambda: self.v1.coupons.create_async(params, {"idempotency_key": idempotency_key}),
        )
        return convert.to_coupon(coupon)

    async def rename_coupon(self, coupon_id: str, *, name: str) -> CouponInfo:
        coupon = await self._call(
            "rename the coupon", lambda: self.v1.coupons.update_async(coupon_id, {"name": name})
        )
        return convert.to_coupon(coupon)

    async def find_promotion_code(self, code: str) -> PromotionCodeInfo | None:
        params: Any = {"code": code, "active": True, "expand": ["data.promotion.coupon"]}
        page = await self._call(
            "look up the promotion code", lambda: self.v1.promotion_codes.list_async(params)
        )
        return convert.to_promotion_code(page.data[0]) if page.data else None

    async def create_promotion_code(
        self,
        *,
        code: str,
        coupon_id: str,
        max_redemptions: int | None,
        idempotency_key: str,
    ) -> PromotionCodeInfo:
        params: Any = {"code": code, "promotion": {"type": "coupon", "coupon": coupon_id}}
        if max_redemptions is not None:
            params["max_redemptions"] = max_redemptions
        promo = await self._call(
            "create the promotion code",
            lambda: self.v1.promotion_codes.create_async(
                params, {"idempotency_key": idempotency_key}
            ),
        )
        return convert.to_promotion_code(promo)

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
        return convert.to_customer(customer)

    async def retrieve_customer(self, customer_id: str) -> CustomerSnapshot:
        customer = await self._call(
            "read the customer",
            lambda: self.v1.customers.retrieve_async(customer_id, {"expand": ["tax_ids"]}),
        )
        return convert.to_customer(customer)

    async def update_customer(
        self, customer_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> CustomerSnapshot:
        customer = await self._call(
            "update the billing details",
            lambda: self.v1.customers.update_async(
                customer_id,
                {**params, "expand": ["tax_ids"]},
                {"idempotency_key": idempotency_key},
            ),
        )
        return convert.to_customer(customer)

    async def create_tax_id(
        self, customer_id: str, *, type: str, value: str, idempotency_key: str
    ) -> TaxIdInfo:
        params: Any = {"type": type, "value": value}
        created = await self._call(
            "save the tax id",
            lambda: self.v1.customers.tax_ids.create_async(
                customer_id,
                params,
                {"idempotency_key": idempotency_key},
            ),
        )
        return convert.to_tax_id(created)

    async def delete_tax_id(self, customer_id: str, tax_id: str) -> None:
        await self._call(
            "remove the old tax id",
            lambda: self.v1.customers.tax_ids.delete_async(customer_id, tax_id),
        )

    async def set_default_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> CustomerSnapshot:
        params: Any = {"invoice_settings": {"default_payment_method": payment_method_id}}
        customer = await self._call(
            "make the card the default",
            lambda: self.v1.customers.update_async(
                customer_id,
                params,
                {"idempotency_key": default_payment_method_key(customer_id, payment_method_id)},
            ),
        )
        return convert.to_customer(customer)

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
        return convert.to_setup_intent(intent)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentResult:
        intent = await self._call(
            "read the card confirmation",
            # The card comes along: the confirmation and its card are one read, not two.
            lambda: self.v1.setup_intents.retrieve_async(
                setup_intent_id, {"expand": ["payment_method"]}
            ),
        )
        return convert.to_setup_intent(intent)

    async def confirm_setup_intent_with(
        self, setup_intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> SetupIntentResult:
        params: Any = {"payment_method": payment_method, "expand": ["payment_method"]}
        intent = await self._call(
            "confirm the card",
            lambda: self.v1.setup_intents.confirm_async(
                setup_intent_id, params, {"idempotency_key": idempotency_key}
            ),
        )
        return convert.to_setup_intent(intent)

    async def retrieve_payment_method(self, payment_method_id: str) -> CardSnapshot:
        pm = await self._call(
            "read the card", lambda: self.v1.payment_methods.retrieve_async(payment_method_id)
        )
        return convert.to_card(pm)

    async def detach_payment_method(self, payment_method_id: str) -> None:
        try:
            await self._call(
                "remove the old card",
                lambda: self.v1.payment_methods.detach_async(
                    payment_method_id, options={"idempotency_key": detach_key(payment_method_id)}
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
        return convert.to_subscription(sub)

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
        return convert.to_subscription(sub)

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
        return convert.to_subscription(sub)

    async def retrieve_subscription(self, subscription_id: str) -> SubscriptionSnapshot:
        params: Any = {"expand": ["latest_invoice"]}
        sub = await self._call(
            "read the subscription",
            lambda: self.v1.subscriptions.retrieve_async(subscription_id, params),
        )
        return convert.to_subscription(sub)

    async def list_subscriptions(self, customer_id: str) -> list[SubscriptionSnapshot]:
        params: Any = {"customer": customer_id, "status": "all", "limit": 100}
        page = await self._call(
            "list subscriptions", lambda: self.v1.subscriptions.list_async(params)
        )
        return [convert.to_subscription(sub) for sub in page.data]

    # --- subscription schedules ---------------------------------------------------------------

    async def create_schedule_from_subscription(
        self, subscription_id: str, *, idempotency_key: str
    ) -> ScheduleSnapshot:
        body: Any = {"from_subscription": subscription_id, "expand": [SCHEDULE_PRICES]}
        schedule = await self._call(
            "schedule the change",
            lambda: self.v1.subscription_schedules.create_async(
                body, {"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return convert.to_schedule(schedule)

    async def update_schedule(
        self, schedule_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> ScheduleSnapshot:
        body: Any = {**params, "expand": [SCHEDULE_PRICES]}
        schedule = await self._call(
            "change the scheduled plan",
            lambda: self.v1.subscription_schedules.update_async(
                schedule_id, body, {"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return convert.to_schedule(schedule)

    async def release_schedule(self, schedule_id: str, *, idempotency_key: str) -> ScheduleSnapshot:
        body: Any = {"expand": [SCHEDULE_PRICES]}
        schedule = await self._call(
            "cancel the scheduled change",
            lambda: self.v1.subscription_schedules.release_async(
                schedule_id, body, {"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return convert.to_schedule(schedule)

    async def retrieve_schedule(self, schedule_id: str) -> ScheduleSnapshot:
        params: Any = {"expand": [SCHEDULE_PRICES]}
        schedule = await self._call(
            "read the scheduled change",
            lambda: self.v1.subscription_schedules.retrieve_async(schedule_id, params),
        )
        return convert.to_schedule(schedule)

    # --- invoices -----------------------------------------------------------------------------

    async def retrieve_invoice(self, invoice_id: str) -> InvoiceSnapshot:
        invoice = await self._call(
            "read the invoice", lambda: self.v1.invoices.retrieve_async(invoice_id)
        )
        return convert.to_invoice(invoice)

    async def list_invoices(self, customer_id: str, *, limit: int = 100) -> list[InvoiceSnapshot]:
        params: Any = {"customer": customer_id, "limit": limit}
        page = await self._call("list invoices", lambda: self.v1.invoices.list_async(params))
        return [convert.to_invoice(invoice) for invoice in page.data]

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
        return convert.to_invoice(invoice)

    async def pay_invoice_out_of_band(
        self, invoice_id: str, *, idempotency_key: str
    ) -> InvoiceSnapshot:
        """Mark an open invoice paid outside Stripe (a bank transfer): `paid_out_of_band=true`
        (https://docs.stripe.com/api/invoices/pay); no money moves through Stripe."""
        params: Any = {"paid_out_of_band": True}
        invoice = await self._call(
            "mark the invoice paid",
            lambda: self.v1.invoices.pay_async(
                invoice_id, params, {"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return convert.to_invoice(invoice)

    async def void_invoice(self, invoice_id: str, *, idempotency_key: str) -> InvoiceSnapshot:
        """Void a finalized invoice (a replay with the same key answers the first void)."""
        invoice = await self._call(
            "void the invoice",
            lambda: self.v1.invoices.void_invoice_async(
                invoice_id, options={"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return convert.to_invoice(invoice)

    async def list_pending_invoice_items(self, customer_id: str) -> list[InvoiceItemSnapshot]:
        """The customer's newest 100 invoice items not yet on an invoice (prorations among them)."""
        params: Any = {"customer": customer_id, "pending": True, "limit": 100}
        page = await self._call(
            "list invoice items", lambda: self.v1.invoice_items.list_async(params)
        )
        return [convert.to_invoice_item(item) for item in page.data]

    async def preview_invoice(self, params: Mapping[str, Any]) -> InvoicePreview:
        """`POST /v1/invoices/create_preview` (reads only: no idempotency key needed)."""
        body: Any = dict(params)
        invoice = await self._call(
            "preview the invoice", lambda: self.v1.invoices.create_preview_async(body)
        )
        return convert.to_preview(invoice)

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
        return convert.to_clock(clock)

    async def retrieve_test_clock(self, clock_id: str) -> ClockSnapshot:
        clock = await self._call(
            "read the test clock", lambda: self.v1.test_helpers.test_clocks.retrieve_async(clock_id)
        )
        return convert.to_clock(clock)

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
        return convert.to_clock(clock)

    async def delete_test_clock(self, clock_id: str) -> None:
        try:
            await self._call(
                "delete the test clock",
                lambda: self.v1.test_helpers.test_clocks.delete_async(clock_id),
            )
        except NotFoundAtStripe:
            return

    async def retrieve_event(self, event_id: str) -> dict[str, Any]:
        event = await self._call("read the event", lambda: self.v1.events.retrieve_async(event_id))
        found: dict[str, Any] = event.to_dict()
        return found

    async def list_events(self, *, limit: int = 100, starting_after: str | None = None) -> Any:
        params: Any = {"limit": limit}
        if starting_after:
            params["starting_after"] = starting_after
        page = await self._call("list events", lambda: self.v1.events.list_async(params))
        return [event.to_dict() for event in page.data], bool(page.has_more)

    # --- plumbing -----------------------------------------------------------------------------

    # Every request goes through `errors.call` (retries of 429s, error mapping); a staticmethod
    # so that a test's subclass can wrap it.
    _call = staticmethod(call)

    # --- quotes ---------------------------------------------------------------------------------

    async def create_quote(
        self, params: Mapping[str, Any], *, idempotency_key: str
    ) -> QuoteSnapshot:
        body: Any = dict(params)
        quote = await self._call(
            "create the quote",
            lambda: self.v1.quotes.create_async(body, {"idempotency_key": idempotency_key}),
            write=True,
        )
        return convert.to_quote(quote)

    async def finalize_quote(self, quote_id: str, *, idempotency_key: str) -> QuoteSnapshot:
        quote = await self._call(
            "finalize the quote",
            lambda: self.v1.quotes.finalize_quote_async(
                quote_id, {}, {"idempotency_key": idempotency_key}
            ),
            write=True,
        )
        return convert.to_quote(quote)

    async def retrieve_quote(self, quote_id: str) -> QuoteSnapshot:
        quote = await self._call("read the quote", lambda: self.v1.quotes.retrieve_async(quote_id))
        return convert.to_quote(quote)

    async def cancel_quote(self, quote_id: str, *, idempotency_key: str) -> QuoteSnapshot:
        quote = await self._call(
            "cancel the quote",
            lambda: self.v1.quotes.cancel_async(quote_id, {}, {"idempotency_key": idempotency_key}),
            write=True,
        )
        return convert.to_quote(quote)

    async def quote_pdf(self, quote_id: str) -> bytes:
        async def read() -> bytes:
            streamed = await self.v1.quotes.pdf_async(quote_id)
            chunks = [chunk async for chunk in streamed.stream()]
            return b"".join(chunks)

        pdf: bytes = await self._call("download the quote's PDF", read)
        return pdf
