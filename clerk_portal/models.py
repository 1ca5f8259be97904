"""The portal's tables: its own truth (workspaces, people, numbers) and its mirror of Stripe's.

Enumerations are plain strings: a CHECK constraint in the database (portable to SQLite and
PostgreSQL) and a validator here, so a bad value fails at assignment with a readable message.
Datetimes are timezone-aware UTC (sqlmodel's UTCDateTime). Money is integer cents.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import validates
from sqlmodel import Field, SQLModel

from clerk_portal.domain_errors import InvalidPhoneNumber, InvalidValue

ROLES = ("owner", "admin", "member")
MEMBERSHIP_STATUSES = ("invited", "active", "removed")
NUMBER_STATUSES = ("active", "released")
BILLING_STATUSES = ("trialing", "active", "past_due", "canceled", "unpaid", "incomplete")
INTERVALS = ("month", "year")
ITEM_KINDS = ("seat", "number")
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")
INQUIRY_STATUSES = ("new", "contacted", "closed")

# Named constraints, so later migrations (SQLite batch mode copies tables) can find them by name.
# Primary keys keep the database's own names: the first migration created `workspace` that way.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=column)


def _check_choice(field: str, value: str | None, values: tuple[str, ...]) -> str | None:
    if value is not None and value not in values:
        raise InvalidValue(f"{field} must be one of {', '.join(values)}, not {value!r}")
    return value


# --- E.164 phone numbers --------------------------------------------------------------------

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_SEPARATORS = re.compile(r"[\s()\-]")


def normalize_e164(raw: str) -> str:
    """`+1 (415) 555-0100` → `+14155550100`; anything but `+`, digits and separators is refused."""
    if not isinstance(raw, str):
        raise InvalidPhoneNumber("A phone number must be text like +14155550100.")
    number = _SEPARATORS.sub("", raw)
    if not _E164.fullmatch(number):
        raise InvalidPhoneNumber(
            f"{raw.strip() or 'An empty value'!s} is not a phone number in international format: "
            "use + and the country code, then 8 to 15 digits in all (e.g. +14155550100)."
        )
    return number


def format_e164(e164: str) -> str:
    """Readable form for messages: `+14155550100` → `+1 415 555 0100` (NANP), others unchanged."""
    if e164.startswith("+1") and len(e164) == 12:
        return f"+1 {e164[2:5]} {e164[5:8]} {e164[8:]}"
    return e164


# --- the portal's own truth -----------------------------------------------------------------


class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    """A person as the identity provider knows them (issuer + subject), never a password."""

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    email: str = Field(max_length=320, index=True)
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    """A seat: a person in a workspace. Invitations have an email and no user until accepted."""

    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "user_id"),
        # One live invitation or membership per email in a workspace; removed rows may repeat.
        sa.Index(
            "uq_membership_workspace_email_live",
            "workspace_id",
            "email",
            unique=True,
            sqlite_where=sa.text("status != 'removed'"),
            postgresql_where=sa.text("status != 'removed'"),
        ),
        sa.Index("ix_membership_workspace_status", "workspace_id", "status"),
        _one_of("role", ROLES),
        _one_of("status", MEMBERSHIP_STATUSES),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    email: str = Field(max_length=320)
    role: str = Field(default="member", max_length=16)
    status: str = Field(default="invited", max_length=16)
    invited_by_user_id: int | None = Field(
        default=None, foreign_key="app_user.id", ondelete="SET NULL"
    )
    invited_at: datetime = Field(default_factory=utcnow)
    joined_at: datetime | None = None
    removed_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    @validates("role")
    def _validate_role(self, _key: str, value: str) -> str:
        return _check_choice("role", value, ROLES)

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        return _check_choice("status", value, MEMBERSHIP_STATUSES)


class PhoneNumber(SQLModel, table=True):
    """A texting number. Active in at most one workspace at a time; released rows are history."""

    __tablename__ = "phone_number"
    __table_args__ = (
        sa.Index(
            "uq_phone_number_active_e164",
            "e164",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        sa.Index("ix_phone_number_workspace_status", "workspace_id", "status"),
        sa.CheckConstraint(
            "substr(e164, 1, 1) = '+' AND length(e164) BETWEEN 9 AND 16", name="e164"
        ),
        _one_of("status", NUMBER_STATUSES),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", ondelete="CASCADE")
    e164: str = Field(max_length=16)
    label: str | None = Field(default=None, max_length=120)
    status: str = Field(default="active", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    released_at: datetime | None = None

    @validates("e164")
    def _validate_e164(self, _key: str, value: str) -> str:
        # SQLModel keeps the assigned value, so a validator can refuse but not rewrite it.
        if normalize_e164(value) != value:
            raise InvalidPhoneNumber(f"Store {normalize_e164(value)}, not {value!r}.")
        return value

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        return _check_choice("status", value, NUMBER_STATUSES)


class AuthSession(SQLModel, table=True):
    """A signed-in browser (auth/sessions.py). Only the SHA-256 of the cookie's token is kept."""

    __tablename__ = "auth_session"
    __table_args__ = (sa.Index("ix_auth_session_user_workspace", "user_id", "workspace_id"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    workspace_id: int | None = Field(default=None, foreign_key="workspace.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class LoginAttempt(SQLModel, table=True):
    """OIDC state, nonce and PKCE verifier between the redirect and the callback (used once)."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    handle_hash: str = Field(max_length=64, unique=True)
    state: str = Field(max_length=255)
    nonce: str = Field(max_length=255)
    code_verifier: str = Field(max_length=255)
    return_to: str = Field(default="/", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, index=True)


# --- the mirror of Stripe's truth -----------------------------------------------------------


class BillingAccount(SQLModel, table=True):
    """One per workspace: the Stripe customer and subscription as last seen, plus the trial.

    The trial starts with the workspace (`trial_ends_at`), before Stripe knows the customer.
    `last_event_created` is the `created` of the newest Stripe event applied, so the webhook
    engine can refuse to move the mirror backwards.
    """

    __tablename__ = "billing_account"
    __table_args__ = (
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
    cancel_reason: str | None = Field(default=None, max_length=500)
    canceled_at: datetime | None = None
    # A downgrade waits for the period end (Stripe subscription schedule) and can be undone.
    pending_plan: str | None = Field(default=None, max_length=32)
    pending_interval: str | None = Field(default=None, max_length=8)
    pending_change_at: datetime | None = None
    stripe_schedule_id: str | None = Field(default=None, max_length=255)
    # The card on file as Stripe describes it; the number itself never reaches us.
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
    po_number: str | None = Field(default=None, max_length=64)
    last_event_created: int | None = Field(default=None, sa_type=sa.BigInteger)
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
    period_start: datetime | None = None
    period_end: datetime | None = None
    created: datetime
    hosted_invoice_url: str | None = Field(default=None, sa_type=sa.Text)
    invoice_pdf_url: str | None = Field(default=None, sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=utcnow)

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        return _check_choice("status", value, INVOICE_STATUSES)


class WebhookEvent(SQLModel, table=True):
    """The inbox: each Stripe event stored once (unique id), processed later and retried."""

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


class BillingActivity(SQLModel, table=True):
    """The billing history: who did what, when, for how much. `actor_user_id` NULL = Stripe."""

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
    created_at: datetime = Field(default_factory=utcnow)


class EnterpriseInquiry(SQLModel, table=True):
    """The "Contact sales" form for the Enterprise plan."""

    __tablename__ = "enterprise_inquiry"
    __table_args__ = (_one_of("status", INQUIRY_STATUSES),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int | None = Field(
        default=None, foreign_key="workspace.id", ondelete="SET NULL", index=True
    )
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    company: str = Field(default="", max_length=200)
    seats: int | None = None
    phone_numbers: int | None = None
    message: str = Field(default="", sa_type=sa.Text)
    status: str = Field(default="new", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)

    @validates("status")
    def _validate_status(self, _key: str, value: str) -> str:
        return _check_choice("status", value, INQUIRY_STATUSES)
