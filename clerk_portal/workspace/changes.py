"""The team and numbers pages' changes, each in one transaction with its consequences.

A change, its activity line, the live-version bump that refreshes other open tabs and (removing a
member) the end of that member's sessions commit together or not at all. `check_*` functions run
the same repository rules in a transaction that is always rolled back, so a page can refuse a bad
invitation or number before it asks the owner to confirm the billing effect.

Roles: admins manage the team, but only owners give or take away the owner role (an admin could
otherwise make themselves an owner and reach billing). A subscribed workspace stays within its
plan's limits (Startup: 10 seats), and within those of a scheduled downgrade, whoever adds the
member or number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session, select

from clerk_portal.auth.sessions import revoke_member_sessions
from clerk_portal.billing import ledger, pricing
from clerk_portal.core import text_input
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import DomainError, InvalidValue, MemberExistsError, NotFound
from clerk_portal.models import ROLES, Membership, PhoneNumber, format_e164
from clerk_portal.workspace import live, repository
from clerk_portal.workspace.trial import trial_state

T = TypeVar("T")
OWNER_ROLE_IS_OWNERS = "Only an owner can give or take away the owner role."


@dataclass(frozen=True)
class Actor:
    """Who makes the change (from the guard's principal, never from the browser)."""

    user_id: int
    workspace_id: int
    role: str


@dataclass(frozen=True)
class Change:
    """What happened, in words for a toast and the activity log, and its quantity effect."""

    summary: str
    seats_delta: int = 0
    numbers_delta: int = 0


def parse_id(raw: object) -> int:
    """A row id from the browser: a positive whole number or a readable refusal."""
    text = str(raw).strip()
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise NotFound("That item does not exist any more: reload the page.")
    return int(text)


def parse_role(raw: object) -> str:
    role = str(raw).strip().lower()
    if role not in ROLES:
        raise InvalidValue("Choose a role: owner, admin or member.")
    return role


READ_ONLY = (
    "The workspace is read-only because its trial or subscription has ended: an owner can "
    "upgrade on the Billing page."
)


# --- checks before confirming ------------------------------------------------------------------


def parse_email(raw: object) -> str:
    """An invitation's address: at most 254 characters, no control or text-direction characters
    (an address that reads differently than it is stored could impersonate a colleague)."""
    return text_input.email(raw)


def parse_number(raw: object) -> str:
    """A phone number as typed, capped before it is parsed (the refusal repeats what was typed)."""
    return text_input.clean(
        raw, label="phone number", max_length=text_input.PHONE_NUMBER, required=True
    )


def check_invite(actor: Actor, *, email: str, role: str) -> str:
    """The normalized email, or the refusal the invitation would get."""
    email = parse_email(email)
    return _dry_run(actor, lambda session: _invite(session, actor, email, role).email)


def check_removal(actor: Actor, *, membership_id: int) -> str:
    """The member's email, or why they cannot be removed (the last owner, say)."""

    def attempt(session: Session) -> str:
        member = _member(session, actor, membership_id)
        repository.remove_member(
            session, workspace_id=actor.workspace_id, membership_id=membership_id
        )
        return member.email

    return _dry_run(actor, attempt)


def check_number(actor: Actor, *, e164: str) -> str:
    """The number in E.164, or why it cannot be added (malformed, already in use)."""
    e164 = parse_number(e164)
    return _dry_run(actor, lambda session: _add_number(session, actor, e164).e164)


def check_release(actor: Actor, *, number_id: int) -> str:
    """The readable number, or why it cannot be released."""
    return _dry_run(actor, lambda session: format_e164(_number(session, actor, number_id).e164))


# --- the changes ---------------------------------------------------------------------------------


def invite_member(
    actor: Actor, *, email: str, role: str, amount_cents: int | None = None
) -> Change:
    """Sent again by the same person (a double click, a second tab), the invitation is already
    done: no second row, no seat counted twice, no error."""
    email = parse_email(email)

    def change(session: Session) -> Change:
        member = _invite(session, actor, email, role)
        return Change(f"Invited {member.email} as {role}", seats_delta=1)

    try:
        return _commit(actor, "member_invited", change, amount_cents)
    except MemberExistsError:
        repeated = _repeated_invitation(actor, email, role)
        if repeated is None:
            raise
        return repeated


def remove_member(actor: Actor, *, membership_id: int, amount_cents: int | None = None) -> Change:
    def change(session: Session) -> Change:
        member = _member(session, actor, membership_id)
        was_seat = member.status in repository.SEAT_STATUSES
        repository.remove_member(
            session, workspace_id=actor.workspace_id, membership_id=membership_id
        )
        if member.user_id is not None:  # their open tabs lose access at once
            revoke_member_sessions(session, user_id=member.user_id, workspace_id=actor.workspace_id)
        return Change(f"Removed {member.email}", seats_delta=-1 if was_seat else 0)

    return _commit(actor, "member_removed", change, amount_cents)


def change_role(actor: Actor, *, membership_id: int, role: str) -> Change:
    _may_touch_owner_role(actor, role)

    def change(session: Session) -> Change:
        member = _member(session, actor, membership_id)
        _may_touch_owner_role(actor, member.role)
        before = member.role
        repository.change_role(
            session, workspace_id=actor.workspace_id, membership_id=membership_id, role=role
        )
        return Change(f"Changed {member.email} from {before} to {role}")

    return _commit(actor, "member_role_changed", change, None)


def add_number(actor: Actor, *, e164: str, amount_cents: int | None = None) -> Change:
    e164 = parse_number(e164)

    def change(session: Session) -> Change:
        phone = _add_number(session, actor, e164)
        return Change(f"Added phone number {format_e164(phone.e164)}", numbers_delta=1)

    return _commit(actor, "number_added", change, amount_cents)


def release_number(actor: Actor, *, number_id: int, amount_cents: int | None = None) -> Change:
    def change(session: Session) -> Change:
        phone = _number(session, actor, number_id)
        repository.release_number(session, workspace_id=actor.workspace_id, number_id=number_id)
        return Change(f"Released phone number {format_e164(phone.e164)}", numbers_delta=-1)

    return _commit(actor, "number_released", change, amount_cents)


# --- helpers -------------------------------------------------------------------------------------


def _commit(
    actor: Actor, kind: str, change: Callable[[Session], Change], amount_cents: int | None
) -> Change:
    with session_scope() as session:
        _writable(session, actor.workspace_id)
        done = change(session)
        ledger.record_activity(
            session,
            workspace_id=actor.workspace_id,
            kind=kind,
            summary=done.summary,
            actor_user_id=actor.user_id,
            amount_cents=amount_cents,
            details={"seats_delta": done.seats_delta, "numbers_delta": done.numbers_delta},
        )
        live.touch(session, workspace_id=actor.workspace_id)
        return done


def _repeated_invitation(actor: Actor, email: str, role: str) -> Change | None:
    with session_scope() as session:
        member = session.exec(
            select(Membership).where(
                Membership.workspace_id == actor.workspace_id,
                Membership.email == email.strip().lower(),
            )
        ).first()
    if member is None or member.status != "invited" or member.role != role:
        return None
    if member.invited_by_user_id != actor.user_id:
        return None
    return Change(f"{member.email} is already invited as {role}")


def _dry_run(actor: Actor, attempt: Callable[[Session], T]) -> T:
    """Run the real rules, keep nothing: the transaction is always rolled back."""
    with session_scope() as session:
        try:
            _writable(session, actor.workspace_id)
            return attempt(session)
        finally:
            session.rollback()


def _invite(session: Session, actor: Actor, email: str, role: str) -> Membership:
    _may_touch_owner_role(actor, role)
    member = repository.add_member(
        session,
        workspace_id=actor.workspace_id,
        email=email,
        role=role,
        invited_by_user_id=actor.user_id,
    )
    _within_plan(session, actor.workspace_id)
    return member


def _add_number(session: Session, actor: Actor, e164: str) -> PhoneNumber:
    phone = repository.add_number(session, workspace_id=actor.workspace_id, e164=e164)
    _within_plan(session, actor.workspace_id)
    return phone


def _writable(session: Session, workspace_id: int) -> None:
    """After a trial ends without an upgrade (or a subscription ends unpaid or canceled) the
    workspace is read-only until an owner upgrades; billing stays open."""
    account = repository.get_billing_account(session, workspace_id=workspace_id)
    if trial_state(account).read_only:
        raise DomainError(READ_ONLY)


def _within_plan(session: Session, workspace_id: int) -> None:
    """After an addition (flushed): refuse it if a subscribed plan cannot hold the new counts."""
    account = repository.get_billing_account(session, workspace_id=workspace_id)
    if account.plan is None or account.stripe_subscription_id is None:
        return  # a trial picks its plan at upgrade, where the limits are checked
    seats = repository.active_seat_count(session, workspace_id=workspace_id)
    numbers = repository.active_number_count(session, workspace_id=workspace_id)
    problems = pricing.check_plan_limits(account.plan, seats, numbers)
    if problems:
        raise DomainError(" ".join(problems))
    if account.pending_plan and account.pending_change_at:  # the smaller plan must hold them too
        problem = pricing.pending_limit_problem(
            account.pending_plan, account.pending_change_at, seats, numbers
        )
        if problem:
            raise DomainError(problem)


def _may_touch_owner_role(actor: Actor, role: str) -> None:
    if role == "owner" and actor.role != "owner":
        raise DomainError(OWNER_ROLE_IS_OWNERS)


def _member(session: Session, actor: Actor, membership_id: int) -> Membership:
    member = session.get(Membership, membership_id)
    if member is None or member.workspace_id != actor.workspace_id or member.status == "removed":
        raise NotFound("That person is not a member of this workspace.")
    _may_touch_owner_role(actor, member.role)
    return member


def _number(session: Session, actor: Actor, number_id: int) -> PhoneNumber:
    phone = session.get(PhoneNumber, number_id)
    if phone is None or phone.workspace_id != actor.workspace_id or phone.status != "active":
        raise NotFound("That phone number is not in this workspace.")
    return phone
