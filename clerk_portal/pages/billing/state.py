"""The billing overview's state: the mirror, as the page shows it, kept live.

Loading makes no Stripe call (`billing.overview` reads the mirror). While the page is open the
tab's live watcher (`LiveWatch`) reloads it within a second of any change (a webhook, another
tab, a team change).
"""

from __future__ import annotations

from typing import TypedDict

import reflex as rx

from clerk_portal.billing.pricing import format_cents
from clerk_portal.billing.read_models.invoices import BANK_TRANSFER, shown_status
from clerk_portal.billing.read_models.overview import BillingOverview, load_overview
from clerk_portal.core import formats, routes
from clerk_portal.core.errors import DomainError
from clerk_portal.ui import guard
from clerk_portal.ui.live import LiveWatch

# Each status its own colour, and always its word (never colour alone).
STATUS_LABELS = {
    "trialing": "Trialing",
    "active": "Active",
    "past_due": "Past due",
    "canceled": "Canceled",
    "unpaid": "Unpaid",
    "incomplete": "Incomplete",
}
STATUS_COLORS = {
    "trialing": "blue",
    "active": "green",
    "past_due": "orange",
    "canceled": "gray",
    "unpaid": "red",
    "incomplete": "amber",
}


class ItemRow(TypedDict):
    description: str
    detail: str
    amount: str


class InvoiceSummary(TypedDict):
    id: str
    number: str
    date: str
    amount: str
    status: str
    pdf_url: str
    payable: bool
    voidable: bool
    due: str  # "Due Feb 1, 2027": an invoiced customer's open invoice
    bank_transfer: str  # "Pay by bank transfer" for an invoiced customer's open invoice
    hosted_url: str


day = formats.day


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def usage_labels(overview: BillingOverview, subscribed: bool) -> tuple[str, str]:
    """(seats, numbers). On trial nothing is billed yet: one line of what is in use, "3 seats ·
    2 numbers (3 included)", and no numbers line."""
    if not subscribed:
        in_use = (
            f"{_count(overview.seats_in_use, 'seat')} · "
            f"{_count(overview.numbers_in_use, 'number')} ({overview.numbers_included} included)"
        )
        return in_use, ""
    return (
        f"{overview.seats_in_use} in use · {overview.seats_billed} billed",
        f"{overview.numbers_in_use} in use · {overview.numbers_included} included · "
        f"{overview.extra_numbers_billed} extra billed",
    )


def per(interval: str | None) -> str:
    return {"month": "/ month", "year": "/ year"}.get(interval or "", "")


class BillingState(LiveWatch, rx.State):
    loaded: bool = False
    status: str = ""
    status_label: str = ""
    status_color: str = "gray"
    plan_label: str = ""
    has_subscription: bool = False
    on_trial: bool = False
    trial_days_left: int = 0
    trial_expired: bool = False
    plan_status: str = ""  # trial days left, or how a canceled subscription starts again
    upgrade_label: str = "Upgrade your account"
    banner: str = ""
    past_due: bool = False
    open_invoice_label: str = ""
    recurring_label: str = ""
    next_invoice_label: str = ""
    renewal_notice: str = ""  # "Your renewal on Feb 1, 2027 will be $123.00" until it is paid
    items: list[ItemRow] = []
    seats_label: str = ""
    numbers_label: str = ""
    syncing: bool = False
    card_label: str = ""
    has_card: bool = False
    invoiced: bool = False  # an invoiced (enterprise) customer: pays by bank transfer
    pending_label: str = ""
    cancel_label: str = ""
    cancel_at_period_end: bool = False
    invoices: list[InvoiceSummary] = []
    mirror_version: int = 0

    def _show(self, overview: BillingOverview) -> None:
        self.loaded = True
        self.status = overview.status
        self.status_label = STATUS_LABELS.get(overview.status, overview.status)
        self.status_color = STATUS_COLORS.get(overview.status, "gray")
        self.has_subscription = bool(overview.plan) and overview.status != "canceled"
        self.on_trial = overview.trial.on_trial and not self.has_subscription
        self.trial_days_left = overview.trial.days_left
        self.trial_expired = overview.trial.expired
        self.plan_status = overview.plan_status
        canceled = overview.status == "canceled"
        self.upgrade_label = "Subscribe again" if canceled else "Upgrade your account"
        self.banner = overview.banner or ""
        self.past_due = overview.past_due
        open_invoice = overview.open_invoice
        self.open_invoice_label = (
            f"Invoice {open_invoice.number or ''} · "
            f"{format_cents(open_invoice.amount_remaining_cents)} due"
            if open_invoice
            else ""
        )
        interval_word = {"month": "monthly", "year": "yearly"}.get(overview.interval or "", "")
        self.plan_label = (
            f"{overview.plan_name} · {interval_word}" if overview.plan_name else "Free trial"
        )
        self.recurring_label = (
            f"{format_cents(overview.recurring_cents)} {per(overview.interval)}"
            if overview.items
            else ""
        )
        self.next_invoice_label = (
            f"{day(overview.next_invoice_at)} · {format_cents(overview.next_invoice_cents)}"
            if overview.next_invoice_at and overview.next_invoice_cents is not None
            else ""
        )
        self.renewal_notice = overview.renewal_notice or ""
        self.items = [
            ItemRow(
                description=line.description,
                detail=f"{line.quantity} × {format_cents(line.unit_amount_cents)}",
                amount=format_cents(line.amount_cents),
            )
            for line in overview.items
        ]
        self.seats_label, self.numbers_label = usage_labels(overview, self.has_subscription)
        self.syncing = overview.syncing
        self.has_card = bool(overview.card_last4)
        self.invoiced = overview.invoiced
        self.card_label = (
            f"{BANK_TRANSFER}: each invoice is due {overview.days_until_due or 30} days "
            "after it is sent"
            if overview.invoiced
            else f"{(overview.card_brand or 'Card').title()} •••• {overview.card_last4} · "
            f"expires {overview.card_exp_month:02d}/{overview.card_exp_year}"
            if overview.card_last4 and overview.card_exp_month
            else "No card on file"
        )
        self.pending_label = (
            f"Switches to {overview.pending_plan.title()} "
            f"({overview.pending_interval}ly) on {day(overview.pending_change_at)}"
            if overview.pending_plan and overview.pending_interval
            else ""
        )
        self.cancel_at_period_end = overview.cancel_at_period_end
        self.cancel_label = (
            f"Your subscription ends on {day(overview.cancel_at)}; access continues until then."
            if overview.cancel_at_period_end
            else ""
        )
        self.invoices = [
            InvoiceSummary(
                id=row.stripe_invoice_id,
                number=row.number or "Draft",
                date=day(row.created),
                amount=format_cents(row.total_cents),
                status=status,
                pdf_url=routes.invoice_pdf(row.stripe_invoice_id) if row.pdf_url else "",
                payable=row.payable,
                voidable=row.voidable,
                due=row.due_note,
                bank_transfer=BANK_TRANSFER if row.invoiced and row.status == "open" else "",
                hosted_url=row.hosted_url or "",
            )
            for row in overview.latest_invoices
            for status in (shown_status(row.status, row.overdue),)
        ]
        self.mirror_version = overview.mirror_version

    @rx.event
    @guard.owner_page_loader
    async def load_billing(self):
        try:
            self._show(await load_overview(guard.principal().workspace_id))
        except DomainError as error:
            return rx.toast.error(error.message)
        return BillingState.watch_live

    async def _live_reload(self, who: guard.Principal) -> None:
        if who.role != "owner":  # demoted: the shell now shows who the owners are instead
            return
        overview = await load_overview(who.workspace_id)
        async with self:
            if await self._still_shown_to(who):
                self._show(overview)

    @rx.event
    @guard.owner_only
    async def refresh(self):
        self._show(await load_overview(guard.principal().workspace_id))
