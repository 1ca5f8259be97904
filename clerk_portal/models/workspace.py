"""The portal's own truth: workspaces, people, memberships (seats), phone numbers, sign-in."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import validates
from sqlmodel import Field, SQLModel

from clerk_portal.core.errors import InvalidPhoneNumber
from clerk_portal.models.base import (
    INQUIRY_STATUSES,
    MEMBERSHIP_STATUSES,
    NUMBER_STATUSES,
    ROLES,
    normalize_e164,
    utcnow,
)
from clerk_portal.models.base import check_choice as _check_choice
from clerk_portal.models.base import one_of as _one_of


class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    # An IANA zone ("America/Los_Angeles"): the activity log's times are shown in it.
    time_zone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})


class User(SQLModel, table=True):
    """A person as the identity provider knows them (issuer + subject), never a password."""

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    email: str = Field(max_length=320, index=True)
    name: str = Field(default="", max_length=200)
    # Clerk Chat staff (sales): set at each sign-in from the provider's verified email domain
    # (`SALES_EMAIL_DOMAINS`), or seeded for the demo's sales persona; never by a workspace.
    is_staff: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
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
        # The team page's keyset pages, oldest invitation first.
        sa.Index("ix_membership_workspace_invited", "workspace_id", "invited_at", "id"),
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
        # The numbers page's keyset pages of active numbers, oldest first.
        sa.Index(
            "ix_phone_number_workspace_status_created", "workspace_id", "status", "created_at", "id"
        ),
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
