"""`BillingGateway`: everything the portal asks of Stripe, as one typed interface.

The services, webhooks, reconcile, catalog sync and the demo clock depend on this protocol, not on
an implementation: `StripeGateway` (`gateway.stripe`) talks to Stripe or the sandbox over HTTP,
`FakeGateway` (`gateway.fake`) keeps everything in memory for fast unit tests.

The contract every implementation keeps:
- results are the frozen snapshots of `gateway.snapshots` (never Stripe objects); amounts are
  integer cents, times Unix seconds;
- failures are `billing.errors`: `CardDeclined`, `PaymentRequiresAction`, `NotFoundAtStripe`,
  `StripeUnavailable` (nothing happened), `OutcomeUnknown` (a write whose answer was lost), or a
  plain `GatewayError` for any other refusal, each with a message fit for a toast;
- a write with an `idempotency_key` already used answers what the first request answered and
  changes nothing again;
- `params` mappings are Stripe's own request parameters (`items`, `proration_behavior`,
  `subscription_details`, ...), as stripe-python takes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

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

__all__ = ["BillingGateway"]


class BillingGateway(Protocol):
    """Stripe as the billing code sees it (see the module docstring for the shared contract)."""

    async def aclose(self) -> None:
        """Release the connections (the gateway is not used afterwards)."""
        ...

    # --- products and prices (catalog sync) ---------------------------------------------------

    async def retrieve_product(self, product_id: str) -> ProductInfo | None:
        """The product, or None when there is no product with that id."""
        ...

    async def create_product(
        self,
        *,
        product_id: str,
        name: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> ProductInfo:
        """A product with the id we choose (`prod_clerk_<plan>_<kind>`)."""
        ...

    async def update_product(
        self, product_id: str, *, name: str, active: bool, metadata: Mapping[str, str]
    ) -> ProductInfo:
        """Rename, (re)activate and merge metadata into a product."""
        ...

    async def list_prices_by_lookup_keys(self, lookup_keys: Iterable[str]) -> list[PriceInfo]:
        """Every price (active or not) that holds one of the lookup keys."""
        ...

    async def price_for(self, lookup_key: str) -> PriceInfo:
        """The active price holding `lookup_key`; `GatewayError` when none does."""
        ...

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
        """A recurring per-unit (licensed) price; `transfer_lookup_key` takes the key from the
        price holding it."""
        ...

    async def set_price_active(self, price_id: str, *, active: bool) -> PriceInfo:
        """Retire a price (`active=False`) or bring it back; idempotent by itself."""
        ...

    async def deactivate_price(self, price_id: str) -> PriceInfo:
        """`set_price_active(price_id, active=False)`."""
        ...

    # --- coupons and promotion codes (catalog sync, upgrade) -----------------------------------

    async def retrieve_coupon(self, coupon_id: str) -> CouponInfo | None:
        """The coupon, or None when there is none with that id (or it was deleted)."""
        ...

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
        """A coupon with the id we choose; its terms never change afterwards (Stripe's rule)."""
        ...

    async def rename_coupon(self, coupon_id: str, *, name: str) -> CouponInfo:
        """A coupon's name is the only term Stripe lets change."""
        ...

    async def find_promotion_code(self, code: str) -> PromotionCodeInfo | None:
        """The active promotion code typed as `code` (case-insensitive), its coupon read along;
        None when there is no active one."""
        ...

    async def create_promotion_code(
        self,
        *,
        code: str,
        coupon_id: str,
        max_redemptions: int | None,
        idempotency_key: str,
    ) -> PromotionCodeInfo:
        """An active promotion code for the coupon."""
        ...

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
        """A customer (attached to a test clock in demo mode)."""
        ...

    async def retrieve_customer(self, customer_id: str) -> CustomerSnapshot:
        """The customer (`deleted=True` for a deleted one)."""
        ...

    async def update_customer(
        self, customer_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> CustomerSnapshot:
        """Billing details: `name`, `email`, `address`, `invoice_settings.custom_fields`; the
        answer carries the customer's tax ids (as `retrieve_customer`'s does)."""
        ...

    async def create_tax_id(
        self, customer_id: str, *, type: str, value: str, idempotency_key: str
    ) -> TaxIdInfo:
        """`POST /v1/customers/{id}/tax_ids`; a malformed value is a GatewayError."""
        ...

    async def delete_tax_id(self, customer_id: str, tax_id: str) -> None:
        """`DELETE /v1/customers/{id}/tax_ids/{tax_id}`."""
        ...

    async def set_default_payment_method(
        self, customer_id: str, payment_method_id: str
    ) -> CustomerSnapshot:
        """Make the card the default of the customer's invoices (its own idempotency key)."""
        ...

    # --- setup intents and cards --------------------------------------------------------------

    async def create_setup_intent(
        self, *, customer_id: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> SetupIntentResult:
        """A SetupIntent for an off-session card, which the browser confirms (Stripe.js)."""
        ...

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentResult:
        """The SetupIntent: `succeeded` with its `payment_method` once the browser confirmed."""
        ...

    async def confirm_setup_intent_with(
        self, setup_intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> SetupIntentResult:
        """Confirm on the server with a payment method id: the demo's scenarios pass Stripe's
        test ids (`pm_card_visa`), never a card number (people's cards go through Stripe.js)."""
        ...

    async def retrieve_payment_method(self, payment_method_id: str) -> CardSnapshot:
        """The card (brand, last four digits, expiry, its customer)."""
        ...

    async def detach_payment_method(self, payment_method_id: str) -> None:
        """Detach the card from its customer; a card already detached is not an error."""
        ...

    # --- subscriptions ------------------------------------------------------------------------

    async def create_subscription(
        self, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        """Subscribe `params["customer"]` to `params["items"]`; the first invoice comes expanded
        (`latest_invoice`, with its confirmation secret when 3-D Secure is needed)."""
        ...

    async def update_subscription(
        self, subscription_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        """Change items, quantities, card, cancellation at period end, trial end...; the answer
        carries the (expanded) latest invoice."""
        ...

    async def cancel_subscription(
        self, subscription_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> SubscriptionSnapshot:
        """End the subscription now (`cancellation_details` recorded)."""
        ...

    async def retrieve_subscription(self, subscription_id: str) -> SubscriptionSnapshot:
        """The subscription with its latest invoice expanded."""
        ...

    async def list_subscriptions(self, customer_id: str) -> list[SubscriptionSnapshot]:
        """Every subscription of the customer, whatever its status, newest first."""
        ...

    # --- subscription schedules ---------------------------------------------------------------

    async def create_schedule_from_subscription(
        self, subscription_id: str, *, idempotency_key: str
    ) -> ScheduleSnapshot:
        """A schedule managing the subscription: one phase, its current period and items."""
        ...

    async def update_schedule(
        self, schedule_id: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> ScheduleSnapshot:
        """Replace the phases (the current one first, unmoved), `end_behavior`, `metadata`."""
        ...

    async def release_schedule(self, schedule_id: str, *, idempotency_key: str) -> ScheduleSnapshot:
        """Stop the schedule; the subscription keeps its current items and goes on alone."""
        ...

    async def retrieve_schedule(self, schedule_id: str) -> ScheduleSnapshot:
        """The schedule with its phases' prices (lookup keys) expanded."""
        ...

    # --- invoices -----------------------------------------------------------------------------

    async def retrieve_invoice(self, invoice_id: str) -> InvoiceSnapshot:
        """The invoice."""
        ...

    async def list_invoices(self, customer_id: str, *, limit: int = 100) -> list[InvoiceSnapshot]:
        """The customer's invoices, newest first."""
        ...

    async def pay_invoice(
        self, invoice_id: str, *, payment_method_id: str | None, idempotency_key: str
    ) -> InvoiceSnapshot:
        """Pay an open invoice off-session (with this card, or the default one)."""
        ...

    async def void_invoice(self, invoice_id: str, *, idempotency_key: str) -> InvoiceSnapshot:
        """Void a finalized invoice (a replay with the same key answers the first void)."""
        ...

    async def pay_invoice_out_of_band(
        self, invoice_id: str, *, idempotency_key: str
    ) -> InvoiceSnapshot:
        """Mark an open invoice paid outside Stripe (a bank transfer): `paid_out_of_band=true`
        (https://docs.stripe.com/api/invoices/pay); no money moves through Stripe."""
        ...

    async def list_pending_invoice_items(self, customer_id: str) -> list[InvoiceItemSnapshot]:
        """The customer's newest 100 invoice items not yet on an invoice (prorations among them)."""
        ...

    async def preview_invoice(self, params: Mapping[str, Any]) -> InvoicePreview:
        """`POST /v1/invoices/create_preview`: the next invoice of `params["subscription"]`, as
        it is or with `subscription_details` applied; reads only."""
        ...

    # --- test clocks (demo mode) --------------------------------------------------------------

    async def create_test_clock(
        self, *, frozen_time: int, name: str, idempotency_key: str
    ) -> ClockSnapshot:
        """A test clock frozen at `frozen_time`."""
        ...

    async def retrieve_test_clock(self, clock_id: str) -> ClockSnapshot:
        """The clock (its `frozen_time` is the customer's "now")."""
        ...

    async def advance_test_clock(
        self, clock_id: str, *, frozen_time: int, idempotency_key: str
    ) -> ClockSnapshot:
        """Move the clock forward: renewals, trial ends and cancellations at period end happen."""
        ...

    async def delete_test_clock(self, clock_id: str) -> None:
        """Delete the clock and, as Stripe does, the customers (and subscriptions) on it; a clock
        already gone is not an error."""
        ...

    # --- quotes (sales) ----------------------------------------------------------------------

    async def create_quote(
        self, params: Mapping[str, Any], *, idempotency_key: str
    ) -> QuoteSnapshot:
        """A draft quote (`customer`, `line_items`, `discounts`, `expires_at`, ...)."""
        ...

    async def finalize_quote(self, quote_id: str, *, idempotency_key: str) -> QuoteSnapshot:
        """Draft -> open: numbered, its PDF available, acceptable until `expires_at`."""
        ...

    async def retrieve_quote(self, quote_id: str) -> QuoteSnapshot:
        """The quote as Stripe has it now (an open one past its expiry reads canceled)."""
        ...

    async def cancel_quote(self, quote_id: str, *, idempotency_key: str) -> QuoteSnapshot:
        """Draft or open -> canceled (Stripe refuses an accepted one)."""
        ...

    async def quote_pdf(self, quote_id: str) -> bytes:
        """The PDF of a finalized quote (Stripe serves it from its files address)."""
        ...
