"""The mirror of Stripe's truth: billing account, subscription items, invoices, the webhook inbox
and the billing history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import validates
from sqlmodel import Field, SQLModel

from clerk_portal.models.base import (
    INTERVALS,
    INVOICE_STATUSES,
    ITEM_KINDS,
    utcnow,
)
from clerk_portal.models.base import check_choice as _check_choice
from clerk_portal.models.base import one_of as _one_of
from clerk_portal.models.status import BILLING_STATUSES


class BillingAccount(SQLModel, table=True):
    """One per workspace: the Stripe customer and subscription as last seen, plus the trial.

    The trial starts with the workspace (`trial_ends_at`), before Stripe knows the customer.
    `last_event_created` is the `created` of the newest Stripe event applied, so the webhook
    engine can refuse to move the mirror backwards. `mirror_version` goes up by one in every
    transaction that changes the mirror (open billing tabs poll it to refresh live);
    `quantities_dirty_since` says members or numbers changed and Stripe's quantities may lag.
    `reconciled_at` / `reconciled_version`: when reconcile last checked it against Stripe, and the
    mirror version it checked (a different version now: changed since, due again).
    """

    __tablename__ = "billing_account"
    __table_args__ = (
        sa.Index("ix_billing_account_reconciled_at", "reconciled_at"),
        _one_of("status", BILLING_STATUSES),
        _one_of("interval", INTERVALS),
        _one_of("pending_interval", INTERVALS),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", unique=True, ondelete="CASCADE")
    stripe_customer_id: str | None = Field(default=None, max_length=255, unique=True)
    stripe_subscription_id: str | None = Field(default=None, max_length=255, unique=True)
    plan: str | None = Field(default=None, max_length=32)
    interval: str | None = Field(default=None, max_length=8)
    status: str = Field(
        default="trialing", max_length=16, sa_column_kwargs={"server_default": "trialing"}
    )
    trial_ends_at: datetime | None = None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    cancel_reason: str | None = Field(default=None, max_length=500)  # Stripe's feedback code
    cancel_comment: str | None = Field(default=None, sa_type=sa.Text)
    canceled_at: datetime | None = None
    # A downgrade waits for the period end (Stripe subscription schedule) and can be undone.
    pending_plan: str | None = Field(default=None, max_length=32)
    pending_interval: str | None = Field(default=None, max_length=8)
    pending_change_at: datetime | None = None
    stripe_schedule_id: str | None = Field(default=None, max_length=255)
    # The card on file as Stripe describes it; the number itself never reaches us.
    stripe_payment_method_id: str | None = Field(default=None, max_length=255)
    card_brand: str | None = Field(default=None, max_length=32)
    card_last4: str | None = Field(default=None, max_length=4)
    card_exp_month: int | None = None
    card_exp_year: int | None = None
    billing_email: str | None = Field(default=None, max_length=320)
    billing_name: str | None = Field(default=None, max_length=200)
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    address_city: str | None = Field(default=None, max_length=100)
    address_state: str | None = Field(default=None, max_length=100)
    address_postal_code: str | None = Field(default=None, max_length=20)
    address_country: str | None = Field(default=None, max_length=2)
    tax_id: str | None = Field(default=None, max_length=64)
    tax_id_type: str | None = Field(default=None, max_length=16)  # Stripe's type: eu_vat, ...
    po_number: str | None = Field(default=None, max_length=64)
    # Stripe's collection method: `send_invoice` for an invoiced (enterprise) customer, who pays
    # each invoice by bank transfer within `days_until_due` (no card is charged).
    collection_method: str = Field(
        default="charge_automatically",
        max_length=24,
        sa_column_kwargs={"server_default": "charge_automatically"},
    )
    days_until_due: int | None = None
    last_event_created: int | None = Field(default=None, sa_type=sa.BigInteger)
    # Demo mode: the customer lives on a sandbox test clock (one per workspace).
    stripe_test_clock_id: str | None = Field(default=None, max_length=255)
    mirror_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    quantities_dirty_since: datetime | None = None
    # Quantity updates applied so far: with the quantities, the next update's idempotency key.
    quantity_syncs: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Stripe's own preview of the next invoice (pending prorations included), kept fresh after
    # each write and webhook so the billing page needs no Stripe call; None: none is coming.
    upcoming_invoice_cents: int | None = None
    upcoming_invoice_at: datetime | None = None
    # The renewal Stripe announced with `invoice.upcoming` and what its preview charges: the
    # billing page's notice until that renewal is paid (cleared then).
    renewal_notice_at: datetime | None = None
    renewal_notice_cents: int | None = None
    # The one upgrade in progress: taken in a transaction before Stripe is asked, held by the
    # tab's SetupIntent, numbered so that the subscription's idempotency key is the attempt's.
    upgrade_attempt: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    upgrade_claim: str | None = Field(default=None, max_length=255)
    upgrade_claimed_at: datetime | None = None
    reconciled_at: datetime | None = None
    reconciled_version: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        return _check_choice("status", value, BILLING_STATUSES)

    @validates("interval", "pending_interval")
    def _validate_interval(self, key: str, value: str | None) -> str | None:
        return _check_choice(key, value, INTERVALS)


class SubscriptionItem(SQLModel, table=True):
    """The subscription's two items: seats and extra numbers."""

    __tablename__ = "subscription_item"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "kind"),
        _one_of("kind", ITEM_KINDS),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    stripe_subscription_item_id: str = Field(max_length=255, unique=True)
    stripe_price_id: str = Field(max_length=255)
    lookup_key: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=8)
    quantity: int = 0
    unit_amount_cents: int = 0
    updated_at: datetime = Field(default_factory=utcnow)

    @validates("kind")
    def _validate_kind(self, _key: str, value: str) -> str:
        return _check_choice("kind", value, ITEM_KINDS)


class Invoice(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_invoice_workspace_created", "workspace_id", "created", "id"),
        _one_of("status", INVOICE_STATUSES),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    stripe_invoice_id: str = Field(max_length=255, unique=True)
    number: str | None = Field(default=None, max_length=64)
    status: str = Field(default="draft", max_length=16)
    currency: str = Field(default="usd", max_length=3)
    subtotal_cents: int = 0
    total_cents: int = 0
    amount_due_cents: int = 0
    amount_paid_cents: int = 0
    amount_remaining_cents: int = 0
    # The period billed: the subscription lines' (mirror.apply_invoice), else Stripe's own.
    period_start: datetime | None = None
    period_end: datetime | None = None
    created: datetime
    billing_reason: str | None = Field(default=None, max_length=40)
    # An invoiced customer's invoice (`send_invoice`): paid by its due date, by bank transfer;
    # `overdue` once Stripe said so (`invoice.overdue`: Stripe's invoice has no such status).
    collection_method: str = Field(
        default="charge_automatically",
        max_length=24,
        sa_column_kwargs={"server_default": "charge_automatically"},
    )
    due_date: datetime | None = None
    overdue: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    hosted_invoice_url: str | None = Field(default=None, sa_type=sa.Text)
    invoice_pdf_url: str | None = Field(default=None, sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=utcnow)

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        return _check_choice("status", value, INVOICE_STATUSES)


# Finalized invoices: a draft may still change and a void one was never owed.
INVOICED_STATUSES = ("open", "paid", "uncollectible")


class InvoiceMonth(SQLModel, table=True):
    """What a workspace was invoiced in one calendar month (UTC), kept by `ledger.upsert_invoice`
    as it writes each invoice: the sum of `total_cents` of its invoices in INVOICED_STATUSES
    created that month. `month` is `year * 12 + month - 1`. The history chart reads at most twelve
    of these rows, whatever the number of invoices."""

    __tablename__ = "invoice_month"

    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE", primary_key=True)
    month: int = Field(primary_key=True)
    invoiced_cents: int = Field(default=0, sa_type=sa.BigInteger)


class WebhookEvent(SQLModel, table=True):
    """The inbox: each Stripe event stored once (unique id), processed later and retried.

    A worker claims a row by setting `locked_until` (a lease); a failure records `last_error`
    and the time of the next attempt (`next_attempt_at`, exponential backoff). An event that can
    never be applied, or still fails after the last attempt, is dead (`dead_at`): kept, not
    retried, until `python -m clerk_portal webhooks replay` tries it again.
    """

    __tablename__ = "webhook_event"
    __table_args__ = (sa.Index("ix_webhook_event_pending", "processed_at", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    stripe_event_id: str = Field(max_length=255, unique=True)
    type: str = Field(max_length=100)
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    event_created: int | None = Field(default=None, sa_type=sa.BigInteger)
    # Server defaults too: the inbox is written with INSERT ... ON CONFLICT DO NOTHING (Core).
    received_at: datetime = Field(
        default_factory=utcnow, sa_column_kwargs={"server_default": sa.func.current_timestamp()}
    )
    processed_at: datetime | None = None
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    workspace_id: int | None = None  # set once processed, when the event maps to a workspace
    locked_until: datetime | None = None
    next_attempt_at: datetime | None = None
    dead_at: datetime | None = None


class BillingActivity(SQLModel, table=True):
    """The billing history: who did what, when, for how much. `actor_user_id` NULL = Stripe.

    `action_key` names the action a row records (the Stripe idempotency key or the invoice it
    produced): a repeated or concurrent request for the same action finds the row, not a twin.
    """

    __tablename__ = "billing_activity"
    __table_args__ = (
        sa.Index("ix_billing_activity_workspace_created", "workspace_id", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    kind: str = Field(max_length=64)
    summary: str = Field(sa_type=sa.Text)
    amount_cents: int | None = None
    currency: str = Field(default="usd", max_length=3)
    details: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    action_key: str | None = Field(default=None, max_length=255, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class JobLease(SQLModel, table=True):
    """Who runs the periodic jobs of the deployment (SQLite; PostgreSQL uses an advisory lock).

    One row per lease name: the holder (host:pid:random) keeps it by moving `expires_at` forward
    (a heartbeat); once `expires_at` has passed, any runner may take it over.
    """

    __tablename__ = "job_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=255)
    acquired_at: datetime
    expires_at: datetime


QUOTE_STATUSES = ("draft", "open", "accepted", "expired", "canceled")


class Quote(SQLModel, table=True):
    """A sales quote for a prospect: Stripe's quote (its PDF, number, totals) plus what the
    portal needs to show and accept it. `token` is the share link's secret (never the id);
    `total_cents` what the first invoice charges (after the discount), `recurring_cents` each
    period after it. Accepting it starts `accepted_workspace_id`'s subscription."""

    __tablename__ = "sales_quote"
    __table_args__ = (_one_of("status", QUOTE_STATUSES), _one_of("interval", INTERVALS))

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=64, unique=True)
    stripe_quote_id: str = Field(max_length=255, unique=True)
    stripe_customer_id: str = Field(max_length=255)
    number: str | None = Field(default=None, max_length=64)
    status: str = Field(default="draft", max_length=16)
    plan: str = Field(max_length=32)
    interval: str = Field(max_length=8)
    seats: int
    numbers: int
    coupon_id: str | None = Field(default=None, max_length=255)
    discount_label: str | None = Field(default=None, max_length=200)
    subtotal_cents: int
    total_cents: int
    recurring_cents: int
    prospect_company: str = Field(max_length=120)
    prospect_email: str = Field(max_length=320)
    note: str | None = Field(default=None, sa_type=sa.Text)
    expires_at: datetime
    created_by_user_id: int | None = Field(
        default=None, foreign_key="app_user.id", ondelete="SET NULL"
    )
    accepted_workspace_id: int | None = Field(
        default=None, foreign_key="workspace.id", ondelete="SET NULL"
    )
    accepted_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        return _check_choice("status", value, QUOTE_STATUSES)
