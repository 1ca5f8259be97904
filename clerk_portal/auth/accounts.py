"""What a verified sign-in means for the portal: the user, their invitations, their workspace."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from clerk_portal.auth.oidc import Identity
from clerk_portal.core import text_input
from clerk_portal.core.errors import NotFound
from clerk_portal.core.settings import get_settings
from clerk_portal.models import Membership, User, Workspace
from clerk_portal.workspace import live, repository
from clerk_portal.workspace.trial import TRIAL_DAYS

# The issuer of the demo personas (`clerk_portal.demo` seeds them; `/auth/demo` signs them in).
DEMO_ISSUER = "demo"
# The demo's sales persona (staff, in no workspace).
DEMO_SALES_SUBJECT = "sales"


def is_staff_identity(identity: Identity, domains: frozenset[str]) -> bool:
    """Clerk Chat staff: a verified email in one of the configured domains (exactly: a
    subdomain or a look-alike is not staff)."""
    if not identity.email_verified or "@" not in identity.email:
        return False
    return identity.email.rpartition("@")[2].strip().lower() in domains


def is_staff(user: User) -> bool:
    """Staff now: flagged at sign-in, and (for the provider's people) their domain still listed,
    so removing a domain from the settings ends its people's staff access at once."""
    if not user.is_staff:
        return False
    if user.issuer == DEMO_ISSUER:
        return get_settings().is_demo
    return user.email.rpartition("@")[2].lower() in get_settings().staff_domains


@dataclass(frozen=True)
class SignIn:
    user: User
    workspace_id: int | None  # None: staff in no workspace (the sales pages only)
    # Open invitations for the email that were not accepted: the provider has not verified it.
    invitations_held_back: int = 0


def complete_sign_in(
    session: Session, *, identity: Identity, trial_days: int = TRIAL_DAYS
) -> SignIn:
    """Match the user by (issuer, subject), keep email and name current, accept open invitations
    for their email if the provider has verified it, and return the workspace to open: the one
    they have just joined, else their first one, or a new one (on trial) for someone who belongs
    to none."""
    user = repository.upsert_user(
        session,
        issuer=identity.issuer,
        subject=identity.subject,
        email=identity.email,
        name=text_input.claim_name(identity.name),  # capped, no control characters
    )
    assert user.id is not None  # upsert_user flushes
    user.is_staff = is_staff_identity(identity, get_settings().staff_domains)
    session.add(user)
    held_back, joined = 0, []
    if identity.email_verified:
        joined = _accept_invitations(session, user=user)
    else:  # the email claim alone proves nothing: many providers let anyone type any address
        held_back = len(repository.open_invitations(session, email=user.email, user_id=user.id))
    if joined:
        return SignIn(user, joined[-1], held_back)
    workspaces = user_workspaces(session, user_id=user.id)
    if workspaces:
        workspace_id = workspaces[0][0].id
        assert workspace_id is not None  # a row read from the database
        return SignIn(user, workspace_id, held_back)
    if user.is_staff:  # a sales rep is not a customer: no workspace of their own
        return SignIn(user, None, held_back)
    workspace = repository.create_workspace(
        session,
        name=f"{user.name or user.email.partition('@')[0] or 'My'}'s workspace"[:120],
        # No usable email from the provider: a reserved address (RFC 2606) nobody can invite.
        owner_email=user.email or f"user-{user.id}@no-email.invalid",
        owner_user_id=user.id,
        trial_days=trial_days,
    )
    assert workspace.id is not None  # create_workspace flushes
    return SignIn(user, workspace.id, held_back)


def _accept_invitations(session: Session, *, user: User) -> list[int]:
    """Accept the open invitations for a verified email; returns the workspaces joined.

    The first account to accept an invitation keeps it (`repository.accept_invitation`).
    """
    assert user.id is not None  # a signed-in user is a saved row
    joined = []
    for invitation in repository.open_invitations(session, email=user.email, user_id=user.id):
        if _has_another_seat(session, invitation=invitation, user_id=user.id):
            continue  # already in that workspace under another address: keep that seat
        assert invitation.id is not None  # a row read from the database
        try:
            repository.accept_invitation(session, membership_id=invitation.id, user_id=user.id)
        except NotFound:
            continue  # another account took it a moment ago
        live.touch(session, workspace_id=invitation.workspace_id)  # open tabs follow
        joined.append(invitation.workspace_id)
    return joined


def _has_another_seat(session: Session, *, invitation: Membership, user_id: int) -> bool:
    return (
        session.exec(
            select(Membership.id).where(
                Membership.workspace_id == invitation.workspace_id,
                Membership.user_id == user_id,
                Membership.id != invitation.id,
            )
        ).first()
        is not None
    )


def user_workspaces(session: Session, *, user_id: int) -> list[tuple[Workspace, str]]:
    """The workspaces a user is an active member of, with their role, oldest first."""
    rows = session.exec(
        select(Workspace, Membership.role)
        .join(Membership, col(Membership.workspace_id) == col(Workspace.id))
        .where(Membership.user_id == user_id, Membership.status == "active")
        .order_by(col(Membership.joined_at), col(Workspace.id))
    ).all()
    return [(workspace, role) for workspace, role in rows]
