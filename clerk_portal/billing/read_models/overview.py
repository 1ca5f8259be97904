"""Everything the billing page shows, read from the mirror in one transaction: no Stripe call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from clerk_portal.billing import mirror, pricing
from clerk_portal.billing.catalog import get_catalog, is_interval
from clerk_portal.billing.read_models.invoices import SEND_INVOICE, due_note
from clerk_portal.core import formats
from clerk_portal.core.db import in_db
from clerk_portal.models import BillingAccount, Invoice, utcnow
from clerk_portal.models.status import ENDED
from clerk_portal.workspace import repository
from clerk_portal.workspace.trial import TrialState, trial_state

# A trial tries the plan the upgrade page offers first: its included numbers are the ones shown.
TRIAL_PLAN = "business"

LATEST_INVOICES = 5


@dataclass(frozen=True)
class ItemLine:
    kind: str  # seat | number
    description: str
    quantity: int
    unit_amount_cents: int
    amount_cents: int


@dataclass(frozen=True)
class InvoiceRow:
    stripe_invoice_id: str
    number: str | None
    status: str
    total_cents: int
    amount_due_cents: int
    amount_remaining_cents: int
    created: datetime
    pdf_url: str | None
    hosted_url: str | None
    payable: bool = False  # open: the owner can pay it with a card
    voidable: bool = False  # open, of a subscription that has ended: nothing more is owed
    due_date: datetime | None = None  # an invoiced customer's: when it is to be paid
    overdue: bool = False  # past its due date unpaid (Stripe's invoice.overdue)
    invoiced: bool = False  # paid by bank transfer, never charged to a card

    @property
    def due_note(self) -> str:
        return due_note(self.status, SEND_INVOICE if self.invoiced else "", self.due_date)


@dataclass(frozen=True)
class BillingOverview:
    workspace_id: int
    mirror_version: int
    plan: str | None
    plan_name: str | None
    interval: str | None
    status: str
    trial: TrialState
    items: tuple[ItemLine, ...]
    recurring_cents: int  # per interval, from the mirror's items
    next_invoice_at: datetime | None
    next_invoice_cents: int | None  # None: nothing will be billed (canceling, trial, ended)
    card_brand: str | None
    card_last4: str | None
    card_exp_month: int | None
    card_exp_year: int | None
    seats_in_use: int
    seats_billed: int
    numbers_in_use: int
    numbers_included: int
    extra_numbers_billed: int
    syncing: bool  # members or numbers changed and Stripe is being updated
    pending_plan: str | None
    pending_interval: str | None
    pending_change_at: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None
    past_due: bool
    latest_invoices: tuple[InvoiceRow, ...]
    billing_email: str | None
    canceled_at: datetime | None = None
    currency: str = "usd"
    # An invoiced (enterprise) customer: Stripe sends each invoice, due in `days_until_due`.
    invoiced: bool = False
    days_until_due: int | None = None
    # "Your renewal on Feb 1, 2027 will be $123.00": from Stripe's draft of the renewal invoice
    # or its `invoice.upcoming` announcement, until the renewal is paid.
    renewal_notice: str | None = None

    @property
    def banner(self) -> str | None:
        """The owner banner: a failed payment first, then the trial."""
        if self.past_due and self.invoiced:
            owed = self.open_invoice
            due = f" (it was due {formats.day(owed.due_date)})" if owed and owed.due_date else ""
            return f"Your invoice is overdue{due}. Please pay it by bank transfer."
        if self.past_due:
            return "Your last payment failed. Update your card and pay the open invoice."
        if self.status == "unpaid":
            return "Your subscription is unpaid: the workspace is read-only until you pay."
        return self.trial.banner

    @property
    def plan_status(self) -> str:
        """The plan card's sentence when there is no running subscription."""
        if self.status == "canceled":
            when = f" on {formats.day(self.canceled_at)}" if self.canceled_at else ""
            why = " after a failed payment" if self.open_invoice else ""
            return (
                f"Your subscription was canceled{when}{why}. Subscribe again to keep using "
                "Clerk Chat: choose a plan and add a card."
            )
        if self.trial.expired:
            return "Your trial has ended. Upgrade to keep using Clerk Chat."
        days = "1 day" if self.trial.days_left == 1 else f"{self.trial.days_left} days"
        return f"You are on the free trial: {days} left."

    @property
    def open_invoice(self) -> InvoiceRow | None:
        """The open invoice the banner speaks of: an overdue one first."""
        owed = [row for row in self.latest_invoices if row.status == "open"]
        return next((row for row in owed if row.overdue), owed[0] if owed else None)


def build_overview(session: Session, workspace_id: int) -> BillingOverview:
    account = repository.get_billing_account(session, workspace_id=workspace_id)
    items = mirror.items_by_kind(session, workspace_id)
    seats = repository.active_seat_count(session, workspace_id=workspace_id)
    numbers = repository.active_number_count(session, workspace_id=workspace_id)
    invoices = session.exec(
        select(Invoice)
        .where(Invoice.workspace_id == workspace_id, Invoice.status != "draft")
        .order_by(col(Invoice.created).desc(), col(Invoice.id).desc())
        .limit(LATEST_INVOICES)
    ).all()
    catalog = get_catalog()
    plan = catalog.plans.get(account.plan) if account.plan else None
    lines = tuple(
        ItemLine(
            kind,
            _describe(kind, plan.name if plan else "", plan.included_numbers if plan else 0),
            items[kind].quantity,
            items[kind].unit_amount_cents,
            items[kind].quantity * items[kind].unit_amount_cents,
        )
        for kind in ("seat", "number")
        if kind in items
    )
    recurring = sum(line.amount_cents for line in lines)
    live = account.stripe_subscription_id is not None and account.status not in ENDED
    next_cents: int | None = None
    if live and not account.cancel_at_period_end:
        # Stripe's upcoming invoice (pending prorations included; with a pending downgrade the
        # invoice of the switch), until a first refresh the recurring total of what renews.
        next_cents = account.upcoming_invoice_cents
        if next_cents is None:
            next_cents = recurring
            if account.pending_plan and is_interval(account.pending_interval):
                pending = pricing.quote(
                    account.pending_plan,
                    account.pending_interval,
                    seats,
                    numbers,
                )
                next_cents = pending.total_cents
    return BillingOverview(
        workspace_id=workspace_id,
        mirror_version=account.mirror_version,
        plan=account.plan,
        plan_name=plan.name if plan else None,
        interval=account.interval,
        status=account.status,
        trial=trial_state(account, utcnow()),
        items=lines,
        recurring_cents=recurring,
        next_invoice_at=(account.upcoming_invoice_at or account.current_period_end)
        if live
        else None,
        next_invoice_cents=next_cents,
        card_brand=account.card_brand,
        card_last4=account.card_last4,
        card_exp_month=account.card_exp_month,
        card_exp_year=account.card_exp_year,
        seats_in_use=seats,
        seats_billed=items["seat"].quantity if "seat" in items else 0,
        numbers_in_use=numbers,
        numbers_included=(plan or get_catalog().plan(TRIAL_PLAN)).included_numbers,
        extra_numbers_billed=items["number"].quantity if "number" in items else 0,
        syncing=account.quantities_dirty_since is not None,
        pending_plan=account.pending_plan,
        pending_interval=account.pending_interval,
        pending_change_at=account.pending_change_at,
        cancel_at_period_end=account.cancel_at_period_end,
        cancel_at=account.current_period_end if account.cancel_at_period_end else None,
        past_due=account.status == "past_due",
        latest_invoices=tuple(_invoice_row(invoice, account.status) for invoice in invoices),
        billing_email=account.billing_email,
        canceled_at=account.canceled_at,
        currency=catalog.currency,
        invoiced=account.collection_method == SEND_INVOICE and live,
        days_until_due=account.days_until_due,
        renewal_notice=_renewal_notice(session, account, catalog.currency) if live else None,
    )


def _renewal_notice(session: Session, account: BillingAccount, currency: str) -> str | None:
    """The renewal's draft invoice (the hour before Stripe charges it) says what it charges;
    before it exists, what `invoice.upcoming` announced. None once it is paid, or when the
    subscription ends instead, or a failed payment is the news."""
    if account.cancel_at_period_end or account.status == "past_due":
        return None
    draft = session.exec(
        select(Invoice)
        .where(
            Invoice.workspace_id == account.workspace_id,
            Invoice.status == "draft",
            Invoice.billing_reason == "subscription_cycle",
        )
        .order_by(col(Invoice.created).desc())
    ).first()
    if draft is not None and draft.period_start is not None:
        return _renewal_text(draft.period_start, draft.amount_due_cents, currency)
    at, cents = account.renewal_notice_at, account.renewal_notice_cents
    start = account.current_period_start
    if at is None or cents is None or (start is not None and at < start):
        return None  # none announced, or an earlier subscription's
    return _renewal_text(at, cents, currency)


def _renewal_text(at: datetime, cents: int, currency: str) -> str:
    return f"Your renewal on {formats.day(at)} will be {formats.money(cents, currency)}"


def _describe(kind: str, plan_name: str, included: int) -> str:
    if kind == "seat":
        return f"{plan_name} seats".strip()
    return f"Extra phone numbers ({included} included)"


def _invoice_row(invoice: Invoice, account_status: str) -> InvoiceRow:
    is_open = invoice.status == "open"
    invoiced = invoice.collection_method == SEND_INVOICE
    return InvoiceRow(
        stripe_invoice_id=invoice.stripe_invoice_id,
        number=invoice.number,
        status=invoice.status,
        total_cents=invoice.total_cents,
        amount_due_cents=invoice.amount_due_cents,
        amount_remaining_cents=invoice.amount_remaining_cents,
        created=invoice.created,
        pdf_url=invoice.invoice_pdf_url,
        hosted_url=invoice.hosted_invoice_url,
        payable=is_open and not invoiced,
        voidable=is_open and account_status in ENDED,
        due_date=invoice.due_date,
        overdue=invoice.overdue,
        invoiced=invoiced,
    )


async def load_overview(workspace_id: int) -> BillingOverview:
    """The billing page's data from the mirror (zero Stripe calls)."""
    return await in_db(lambda session: build_overview(session, workspace_id))
