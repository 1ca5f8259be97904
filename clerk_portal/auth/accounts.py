"""What a verified sign-in means for the portal: the user, their invitations, their workspace."""

from __future__ import annotations

from sqlmodel import Session, col, select

from clerk_portal import live_touch, text_input
from clerk_portal.auth.oidc import Identity
from clerk_portal.billing import repository
from clerk_portal.models import Membership, User, Workspace


def complete_sign_in(session: Session, *, identity: Identity, trial_days: int) -> tuple[User, int]:
    """Match the user by (issuer, subject), keep email and name current, accept open invitations
    for their email, and return the workspace to open: their first one, or a new one (on trial)
    for someone who belongs to none."""
    user = repository.upsert_user(
        session,
        issuer=identity.issuer,
        subject=identity.subject,
        email=identity.email,
        name=text_input.claim_name(identity.name),  # capped, no control characters
    )
    if user.email:
        invitations = session.exec(
            select(Membership).where(
                Membership.email == user.email,
                Membership.status == "invited",
                col(Membership.user_id).is_(None),
            )
        ).all()
        for invitation in invitations:
            repository.accept_invitation(session, membership_id=invitation.id, user_id=user.id)
            live_touch.touch(session, workspace_id=invitation.workspace_id)  # open tabs follow
    workspaces = user_workspaces(session, user_id=user.id)
    if workspaces:
        return user, workspaces[0][0].id
    workspace = repository.create_workspace(
        session,
        name=f"{user.name or user.email or 'My'}'s workspace",
        owner_email=user.email or f"{identity.subject}@{identity.issuer}",
        owner_user_id=user.id,
        trial_days=trial_days,
    )
    return user, workspace.id


def user_workspaces(session: Session, *, user_id: int) -> list[tuple[Workspace, str]]:
    """The workspaces a user is an active member of, with their role, oldest first."""
    rows = session.exec(
        select(Workspace, Membership.role)
        .join(Membership, col(Membership.workspace_id) == col(Workspace.id))
        .where(Membership.user_id == user_id, Membership.status == "active")
        .order_by(col(Membership.joined_at), col(Workspace.id))
    ).all()
    return [(workspace, role) for workspace, role in rows]


def workspace_owners(session: Session, *, workspace_id: int) -> list[str]:
    """Names (or emails) of the active owners: members are told who manages billing."""
    rows = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id), isouter=True)
        .where(
            Membership.workspace_id == workspace_id,
            Membership.role == "owner",
            Membership.status == "active",
        )
        .order_by(col(Membership.id))
    ).all()
    return [(user.name if user and user.name else membership.email) for membership, user in rows]
