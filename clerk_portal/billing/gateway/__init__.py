"""The billing code's only door to Stripe. Import from here: `clerk_portal.billing.gateway`.

- `protocol`: `BillingGateway`, every call the services, webhooks, reconcile, catalog sync and
  the demo clock make, with the contract each implementation keeps (snapshots out,
  `billing.errors` raised, idempotency keys honoured);
- `snapshots`: the frozen dataclasses a gateway returns (pure: no `stripe`), and the verified
  webhook event;
- `keys`: the idempotency keys the gateway derives itself (the callers name their own actions);
- `default`: `current_gateway()`, the Stripe gateway of the running event loop (a short
  timeout and one retry inside `interactive_calls()`, where a person waits; jobs' long one
  otherwise), and `gateway_or_default(gateway)`, which every service uses for its `gateway=`
  argument;
- `stripe/`: `StripeGateway` and `verify_webhook`, the only modules that import `stripe`
  (client set-up, the calls, the mapping of Stripe objects and errors);
- `fake`: `FakeGateway`, the protocol in memory for unit tests (not imported here: production
  never loads it).
"""

from clerk_portal.billing.errors import GatewayError
from clerk_portal.billing.gateway.default import (
    current_gateway,
    detach_from_person,
    gateway_or_default,
    interactive_calls,
)
from clerk_portal.billing.gateway.protocol import BillingGateway
from clerk_portal.billing.gateway.snapshots import (
    CardSnapshot,
    ClockSnapshot,
    CouponInfo,
    CustomerRef,
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
    SchedulePhase,
    ScheduleSnapshot,
    SetupIntentResult,
    SignatureError,
    SubscriptionSnapshot,
    TaxIdInfo,
    VerifiedEvent,
)
from clerk_portal.billing.gateway.stripe import StripeGateway, verify_webhook

__all__ = [
    "BillingGateway",
    "CardSnapshot",
    "ClockSnapshot",
    "CouponInfo",
    "CustomerRef",
    "CustomerSnapshot",
    "GatewayError",
    "InvoiceItemSnapshot",
    "InvoicePreview",
    "InvoiceSnapshot",
    "ItemSnapshot",
    "PreviewLine",
    "PriceInfo",
    "ProductInfo",
    "PromotionCodeInfo",
    "QuoteSnapshot",
    "SchedulePhase",
    "ScheduleSnapshot",
    "SetupIntentResult",
    "SignatureError",
    "StripeGateway",
    "SubscriptionSnapshot",
    "TaxIdInfo",
    "VerifiedEvent",
    "current_gateway",
    "detach_from_person",
    "gateway_or_default",
    "interactive_calls",
    "verify_webhook",
]
