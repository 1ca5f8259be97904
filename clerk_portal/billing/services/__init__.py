"""Billing use cases: async functions with keyword-only arguments, one module per capability.

Each takes `workspace_id` from the caller (never from Stripe data), does database work off the event
loop, calls Stripe through the gateway (pass `gateway=` in tests, else the loop's default), writes
the mirror from Stripe's answer and records a BillingActivity entry. Refusals raise DomainError
subclasses whose `.message` fits a toast. Role checks are the page layer's (owner/admin guard).
"""

from clerk_portal.billing.services.cancel import (
    CANCEL_REASONS,
    cancel_at_period_end,
    cancel_now,
    resume,
)
from clerk_portal.billing.services.card import (
    complete_card_update,
    pay_open_invoice,
    start_card_update,
)
from clerk_portal.billing.services.details import BillingDetails, update_billing_details
from clerk_portal.billing.services.discounts import (
    AppliedCode,
    accept_retention_offer,
    retention_offer,
)
from clerk_portal.billing.services.invoices import (
    invoice_pdf_url,
    list_invoices,
    open_invoice_pdf,
    void_open_invoice,
)
from clerk_portal.billing.services.plan_change import (
    PlanChangeReview,
    apply_due_changes,
    change_plan,
    preview_plan_change,
    undo_pending_change,
)
from clerk_portal.billing.services.quantities import (
    preview_quantity_change,
    request_quantity_sync,
    sync_quantities,
)
from clerk_portal.billing.services.upgrade import (
    apply_promotion_code,
    complete_upgrade,
    finish_authenticated_upgrade,
    finish_upgrade_payment,
    open_upgrade_payment,
    preview_upgrade,
    release_upgrade_payment,
    start_upgrade,
)
from clerk_portal.workspace.trial import TrialState, get_trial_state, trial_state

__all__ = [
    "CANCEL_REASONS",
    "AppliedCode",
    "BillingDetails",
    "PlanChangeReview",
    "TrialState",
    "accept_retention_offer",
    "apply_due_changes",
    "apply_promotion_code",
    "cancel_at_period_end",
    "cancel_now",
    "change_plan",
    "complete_card_update",
    "complete_upgrade",
    "finish_authenticated_upgrade",
    "finish_upgrade_payment",
    "get_trial_state",
    "invoice_pdf_url",
    "list_invoices",
    "open_invoice_pdf",
    "open_upgrade_payment",
    "pay_open_invoice",
    "preview_plan_change",
    "preview_quantity_change",
    "preview_upgrade",
    "release_upgrade_payment",
    "request_quantity_sync",
    "resume",
    "retention_offer",
    "start_card_update",
    "start_upgrade",
    "sync_quantities",
    "trial_state",
    "undo_pending_change",
    "update_billing_details",
    "void_open_invoice",
]
