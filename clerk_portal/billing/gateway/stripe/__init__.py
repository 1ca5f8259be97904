"""The Stripe implementation of `BillingGateway`: the only modules of the portal that import
`stripe` (an import-linter contract says so).

- `gateway`: `StripeGateway`, the client set-up and one method per Stripe call;
- `errors`: `call()` (429 retries) and Stripe's exceptions as `billing.errors`;
- `convert`: Stripe objects as the snapshots of `gateway.snapshots`;
- `signatures`: `verify_webhook`, the `Stripe-Signature` check.
"""

from clerk_portal.billing.gateway.stripe.errors import OUTCOME_UNKNOWN, UNAVAILABLE
from clerk_portal.billing.gateway.stripe.gateway import StripeGateway
from clerk_portal.billing.gateway.stripe.signatures import SIGNATURE_TOLERANCE, verify_webhook

__all__ = [
    "OUTCOME_UNKNOWN",
    "SIGNATURE_TOLERANCE",
    "UNAVAILABLE",
    "StripeGateway",
    "verify_webhook",
]
