"""Reads of a workspace's members for the UI layer: each function opens its own transaction.

These are blocking and read only: the UI layer calls them off the event loop
(`asyncio.to_thread`).
"""

from __future__ import annotations

from sqlmodel import col, select

from clerk_portal.core.db import session_scope
from clerk_portal.models import Membership, User
from clerk_portal.workspace import repository


def member_role(*, workspace_id: int, user_id: int) -> str | None:
    """The user's role in the workspace now (None once removed); never touches their session."""
    with session_scope() as session:
        member = repository.membership_for_user(session, workspace_id=workspace_id, user_id=user_id)
        return member.role if member else None


def owner_names(*, workspace_id: int) -> list[str]:
    """Names (or emails) of the active owners: members are told who manages billing."""
    with session_scope() as session:
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
        return [
            (user.name if user and user.name else membership.email) for membership, user in rows
        ]
