"""Plain functions over a session: the portal's own truth (workspaces, people, members, numbers).

Every function takes the session first and keyword-only arguments, flushes but never commits (the
caller's `session_scope()` does), and raises `clerk_portal.core.errors` with a sentence a person
can read. After an error the session must be rolled back, as `session_scope()` does.

Seats: Clerk Chat bills a seat per team member, so invited members count as seats from the moment
they are invited (`active_seat_count`); removed members do not.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from clerk_portal.core.errors import (
    InvalidValue,
    LastOwnerError,
    MemberExistsError,
    NotFound,
    NumberTakenError,
)
from clerk_portal.models import (
    ROLES,
    BillingAccount,
    Membership,
    PhoneNumber,
    User,
    Workspace,
    format_e164,
    normalize_e164,
    utcnow,
)
from clerk_portal.workspace.trial import TRIAL_DAYS

T = TypeVar("T")
SEAT_STATUSES = ("active", "invited")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# --- workspaces and people ----------------------------------------------------------------------


def create_workspace(
    session: Session,
    *,
    name: str,
    owner_email: str,
    owner_user_id: int | None = None,
    trial_days: int = TRIAL_DAYS,
    now: datetime | None = None,
) -> Workspace:
    """A workspace, its first owner and its billing account, whose trial starts now.

    With `owner_user_id` the owner is active at once; without, the owner is invited by email
    (seed data, a workspace set up by sales) and becomes active on first sign-in.
    """
    now = now or utcnow()
    name = name.strip()
    if not name:
        raise InvalidValue("A workspace needs a name.")
    workspace = Workspace(name=name, created_at=now)
    session.add(workspace)
    session.flush()
    assert workspace.id is not None  # the flush assigned it
    session.add(
        BillingAccount(
            workspace_id=workspace.id,
            status="trialing",
            trial_ends_at=now + timedelta(days=trial_days),
            created_at=now,
            updated_at=now,
        )
    )
    add_member(
        session,
        workspace_id=workspace.id,
        email=owner_email,
        role="owner",
        user_id=owner_user_id,
        now=now,
    )
    return workspace


def get_workspace(session: Session, *, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("That workspace does not exist.")
    return workspace


def get_billing_account(session: Session, *, workspace_id: int) -> BillingAccount:
    account = session.exec(
        select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
    ).first()
    if account is None:
        raise NotFound("That workspace has no billing account.")
    return account


def upsert_user(session: Session, *, issuer: str, subject: str, email: str, name: str = "") -> User:
    """The user the identity provider vouches for, created on first sign-in, refreshed later.

    An identity without an email claim is stored with an empty email (nothing to invite by).
    """
    email = normalize_email(email) if email and email.strip() else ""
    user = session.exec(select(User).where(User.issuer == issuer, User.subject == subject)).first()
    if user is None:
        user = User(issuer=issuer, subject=subject, email=email, name=name)
        session.add(user)
    elif (user.email, user.name) != (email, name):
        user.email, user.name, user.updated_at = email, name, utcnow()
    session.flush()
    return user


# --- members ------------------------------------------------------------------------------------


def add_member(
    session: Session,
    *,
    workspace_id: int,
    email: str,
    role: str = "member",
    user_id: int | None = None,
    invited_by_user_id: int | None = None,
    now: datetime | None = None,
) -> Membership:
    """Invite someone by email (status `invited`), or add a known user directly (`active`).

    A removed member is invited again on the same row, so their history stays in one place.
    """
    now = now or utcnow()
    email = normalize_email(email)
    _check_role(role)
    get_workspace(session, workspace_id=workspace_id)
    existing = session.exec(
        select(Membership).where(
            Membership.workspace_id == workspace_id,
            sa.or_(
                col(Membership.email) == email,
                sa.and_(col(Membership.user_id).is_not(None), col(Membership.user_id) == user_id),
            ),
        )
    ).all()
    if any(member.status != "removed" for member in existing):
        raise MemberExistsError(f"{email} is already a member of this workspace.")
    member = existing[0] if existing else Membership(workspace_id=workspace_id, email=email)
    member.email, member.role = email, role
    member.user_id = user_id if user_id is not None else member.user_id
    member.status = "active" if user_id is not None else "invited"
    member.invited_by_user_id = invited_by_user_id
    member.invited_at = now
    member.joined_at = now if user_id is not None else None
    member.removed_at = None
    member.updated_at = now
    session.add(member)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent invitation of the same email or user
        raise MemberExistsError(f"{email} is already a member of this workspace.") from error
    return member


def open_invitations(session: Session, *, email: str, user_id: int) -> list[Membership]:
    """Invitations this user may accept: for their email, and not bound to another account.

    A removed member invited again keeps their row and its `user_id`, so only they can take it.
    """
    if not email:
        return []
    return list(
        session.exec(
            select(Membership)
            .where(
                Membership.email == email,
                Membership.status == "invited",
                sa.or_(col(Membership.user_id).is_(None), col(Membership.user_id) == user_id),
            )
            .order_by(col(Membership.id))
        )
    )


def accept_invitation(
    session: Session, *, membership_id: int, user_id: int, now: datetime | None = None
) -> Membership:
    """Bind an open invitation to the account accepting it, once and for good.

    One conditional UPDATE: of two accounts with the same email signing in at once, the first
    takes the seat and the second matches no row (it must not overwrite `user_id`).
    """
    now = now or utcnow()
    try:
        taken = session.exec(
            sa.update(Membership)
            .where(
                col(Membership.id) == membership_id,
                col(Membership.status) == "invited",
                sa.or_(col(Membership.user_id).is_(None), col(Membership.user_id) == user_id),
            )
            .values(user_id=user_id, status="active", joined_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError as error:
        raise MemberExistsError("You are already a member of this workspace.") from error
    member = session.get(Membership, membership_id)
    if member is not None:
        session.refresh(member)  # the UPDATE went around the identity map
    if member is None or taken.rowcount != 1:
        raise NotFound("That invitation is no longer open.")
    return member


def remove_member(
    session: Session, *, workspace_id: int, membership_id: int, now: datetime | None = None
) -> Membership:
    """Remove a member or withdraw an invitation; the last active owner cannot be removed."""
    _lock_workspace(session, workspace_id)
    member = _member(session, workspace_id, membership_id)
    if member.status == "removed":
        return member
    _keep_an_owner(session, member, "remove")
    now = now or utcnow()
    member.status, member.removed_at, member.updated_at = "removed", now, now
    session.flush()
    return member


def change_role(
    session: Session,
    *,
    workspace_id: int,
    membership_id: int,
    role: str,
    now: datetime | None = None,
) -> Membership:
    """Give a member another role; the last active owner cannot be demoted."""
    _check_role(role)
    _lock_workspace(session, workspace_id)
    member = _member(session, workspace_id, membership_id)
    if member.status == "removed":
        raise NotFound(f"{member.email} is no longer a member of this workspace.")
    if member.role == role:
        return member
    if role != "owner":
        _keep_an_owner(session, member, "demote")
    member.role, member.updated_at = role, now or utcnow()
    session.flush()
    return member


def list_members(
    session: Session, *, workspace_id: int, include_removed: bool = False
) -> list[Membership]:
    query = select(Membership).where(Membership.workspace_id == workspace_id)
    if not include_removed:
        query = query.where(col(Membership.status).in_(SEAT_STATUSES))
    return list(session.exec(query.order_by(col(Membership.invited_at), col(Membership.id))))


def membership_for_user(session: Session, *, workspace_id: int, user_id: int) -> Membership | None:
    """The user's active membership of the workspace, if any (the owner guard asks this)."""
    return session.exec(
        select(Membership).where(
            Membership.workspace_id == workspace_id,
            Membership.user_id == user_id,
            Membership.status == "active",
        )
    ).first()


# --- phone numbers ------------------------------------------------------------------------------


def add_number(
    session: Session,
    *,
    workspace_id: int,
    e164: str,
    label: str | None = None,
    now: datetime | None = None,
) -> PhoneNumber:
    """Add a number in E.164 (spaces, dashes and parentheses are dropped).

    A number is active in one workspace at a time: the partial unique index decides between
    concurrent additions, and the loser gets NumberTakenError.
    """
    number = normalize_e164(e164)
    get_workspace(session, workspace_id=workspace_id)
    if _active_number(session, number) is not None:
        raise NumberTakenError(_taken_message(number))
    phone = PhoneNumber(
        workspace_id=workspace_id, e164=number, label=label, created_at=now or utcnow()
    )
    session.add(phone)
    try:
        session.flush()
    except IntegrityError as error:
        if "e164" not in str(error.orig):
            raise
        raise NumberTakenError(_taken_message(number)) from error
    return phone


def release_number(
    session: Session, *, workspace_id: int, number_id: int, now: datetime | None = None
) -> PhoneNumber:
    phone = session.get(PhoneNumber, number_id)
    if phone is None or phone.workspace_id != workspace_id:
        raise NotFound("That phone number is not in this workspace.")
    if phone.status == "active":
        phone.status, phone.released_at = "released", now or utcnow()
        session.flush()
    return phone


def list_numbers(
    session: Session, *, workspace_id: int, include_released: bool = False
) -> list[PhoneNumber]:
    query = select(PhoneNumber).where(PhoneNumber.workspace_id == workspace_id)
    if not include_released:
        query = query.where(PhoneNumber.status == "active")
    return list(session.exec(query.order_by(col(PhoneNumber.created_at), col(PhoneNumber.id))))


# --- counts that drive the subscription's quantities --------------------------------------------


def active_seat_count(session: Session, *, workspace_id: int) -> int:
    """Seats billed: active and invited members."""
    return session.exec(
        select(func.count())
        .select_from(Membership)
        .where(Membership.workspace_id == workspace_id, col(Membership.status).in_(SEAT_STATUSES))
    ).one()


def active_number_count(session: Session, *, workspace_id: int) -> int:
    """All active numbers; the billed quantity is `pricing.number_quantity(plan, this)`."""
    return session.exec(
        select(func.count())
        .select_from(PhoneNumber)
        .where(PhoneNumber.workspace_id == workspace_id, PhoneNumber.status == "active")
    ).one()


# --- helpers ------------------------------------------------------------------------------------


def normalize_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not _EMAIL.fullmatch(email):
        raise InvalidValue(f"{raw!r} is not an email address.")
    return email


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidValue(f"Role must be owner, admin or member, not {role!r}.")


def _lock_workspace(session: Session, workspace_id: int) -> None:
    """Serialize membership changes of one workspace (a row lock on PostgreSQL, the write lock on
    SQLite), so two owners demoting each other at once cannot leave the workspace without one."""
    result = session.execute(
        sa.update(Workspace).where(col(Workspace.id) == workspace_id).values(id=Workspace.id)
    )
    # sqlmodel's Session.execute() returns Result in its types; an UPDATE's is a CursorResult.
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("That workspace does not exist.")


def _member(session: Session, workspace_id: int, membership_id: int) -> Membership:
    member = session.exec(
        select(Membership)
        .where(Membership.id == membership_id)
        .execution_options(populate_existing=True)
    ).first()
    if member is None or member.workspace_id != workspace_id:
        raise NotFound("That person is not a member of this workspace.")
    return member


def _keep_an_owner(session: Session, member: Membership, action: str) -> None:
    if member.role != "owner" or member.status != "active":
        return
    other_owners = session.exec(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.workspace_id == member.workspace_id,
            Membership.role == "owner",
            Membership.status == "active",
            Membership.id != member.id,
        )
    ).one()
    if other_owners == 0:
        raise LastOwnerError(
            f"{member.email} is the workspace's only owner: make someone else an owner "
            f"before you {action} them."
        )


def _active_number(session: Session, e164: str) -> PhoneNumber | None:
    return session.exec(
        select(PhoneNumber).where(PhoneNumber.e164 == e164, PhoneNumber.status == "active")
    ).first()


def _taken_message(e164: str) -> str:
    return f"{format_e164(e164)} is already in use"
