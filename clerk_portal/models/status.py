"""What a workspace's subscription status means: the one place these rules are written.

`BillingAccount.status` holds Stripe's subscription status (or "trialing" for the portal's own
trial before Stripe knows the customer). Stripe's `incomplete_expired` is stored as canceled and
`paused` as unpaid (`FROM_STRIPE`). Every rule below is a set of those statuses; code asks
`status in RULE`, never spells statuses out.
"""

from __future__ import annotations

BILLING_STATUSES = ("trialing", "active", "past_due", "canceled", "unpaid", "incomplete")

# Stripe's statuses the portal stores as one of its own.
FROM_STRIPE = {"incomplete_expired": "canceled", "paused": "unpaid"}

# The subscription has ended: nothing more is billed, a new upgrade starts a new subscription.
ENDED = frozenset({"canceled"})

# Stripe invoices the subscription again (a canceling or ended one has no next invoice): its
# quantities follow the team and the numbers, changes to them are previewed, reconcile compares.
BILLED = frozenset({"active", "past_due", "trialing"})

# The plan or the interval may be changed (not while a payment is owed).
CHANGEABLE = frozenset({"active", "trialing"})

# The workspace holds a subscription: a second upgrade is refused (one being paid counts).
SUBSCRIBED = frozenset({"active", "past_due", "unpaid", "incomplete"})

# A subscription found in Stripe that the workspace is really on (paid for, or owing).
ADOPTABLE = frozenset({"active", "trialing", "past_due", "unpaid"})

# Outside billing, the workspace is read-only (an expired trial is read-only too: see trial.py).
READ_ONLY = frozenset({"canceled", "unpaid"})
