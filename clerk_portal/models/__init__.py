"""The portal's tables: its own truth (workspaces, people, numbers) and its mirror of Stripe's.

`base` holds enumerations, the constraint naming convention, UTC time and E.164 numbers; `status`
what each subscription status means; `workspace` the portal's own truth; `billing` the mirror of
Stripe plus the webhook inbox, the billing history and the job lease. Import every name from
here: `from clerk_portal.models import BillingAccount`.
"""

from clerk_portal.models.base import (
    INQUIRY_STATUSES,
    INTERVALS,
    INVOICE_STATUSES,
    ITEM_KINDS,
    MEMBERSHIP_STATUSES,
    NUMBER_STATUSES,
    ROLES,
    _check_choice,
    _one_of,
    check_choice,
    format_e164,
    normalize_e164,
    one_of,
    utcnow,
)
from clerk_portal.models.billing import (
    INVOICED_STATUSES,
    BillingAccount,
    BillingActivity,
    Invoice,
    InvoiceMonth,
    JobLease,
    Quote,
    SubscriptionItem,
    WebhookEvent,
)
from clerk_portal.models.status import BILLING_STATUSES
from clerk_portal.models.workspace import (
    AuthSession,
    EnterpriseInquiry,
    LoginAttempt,
    Membership,
    PhoneNumber,
    User,
    Workspace,
)

__all__ = [
    "BILLING_STATUSES",
    "INQUIRY_STATUSES",
    "INTERVALS",
    "INVOICED_STATUSES",
    "INVOICE_STATUSES",
    "ITEM_KINDS",
    "MEMBERSHIP_STATUSES",
    "NUMBER_STATUSES",
    "ROLES",
    "AuthSession",
    "BillingAccount",
    "BillingActivity",
    "EnterpriseInquiry",
    "Invoice",
    "InvoiceMonth",
    "JobLease",
    "LoginAttempt",
    "Membership",
    "PhoneNumber",
    "Quote",
    "SubscriptionItem",
    "User",
    "WebhookEvent",
    "Workspace",
    "_check_choice",
    "_one_of",
    "check_choice",
    "format_e164",
    "normalize_e164",
    "one_of",
    "utcnow",
]
