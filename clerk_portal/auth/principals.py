"""Who is behind a session cookie, for the UI layer: each function opens its own transaction.

These are blocking: the UI layer calls them off the event loop (`asyncio.to_thread`). The
cookie's token is looked up in `auth.sessions`, the membership in `workspace.repository`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from clerk_portal.auth import accounts
from clerk_portal.auth.sessions import (
    SessionPolicy,
    resolve_session,
    revoke_member_sessions,
    set_workspace,
)
from clerk_portal.core.db import get_engine, session_scope
from clerk_portal.core.settings import get_settings
from clerk_portal.models import User, Workspace
from clerk_portal.workspace import repository


@dataclass(frozen=True)
class Principal:
    user_id: int
    user_name: str
    user_email: str
    workspace_id: int
    workspace_name: str
    role: str


@dataclass(frozen=True)
class Staff:
    """A Clerk Chat staff member (sales rep) behind a session: no workspace involved."""

    user_id: int
    user_name: str
    user_email: str


def _policy() -> SessionPolicy:
    return SessionPolicy.from_settings(get_settings())


def principal_for_token(*, token: str | None, touch: bool = True) -> Principal | None:
    """The caller behind a session cookie, checked against the current membership.

    `touch`: the caller is active, so resolving moves the session's idle deadline on and a
    removed member's sessions end here. Without it nothing is written (a live reload is not the
    person's activity: it must keep no session alive)."""
    if not token:
        return None
    if touch:
        with session_scope() as session:
            return _principal(session, token)
    with Session(get_engine()) as session:  # never committed
        return _principal(session, token)


def _principal(session: Session, token: str) -> Principal | None:
    record = resolve_session(session, token=token, policy=_policy())
    if record is None or record.workspace_id is None:
        return None
    membership = repository.membership_for_user(
        session, workspace_id=record.workspace_id, user_id=record.user_id
    )
    if membership is None:  # removed since the session began: it ends here
        revoke_member_sessions(session, user_id=record.user_id, workspace_id=record.workspace_id)
        return None
    user = session.get(User, record.user_id)
    workspace = session.get(Workspace, record.workspace_id)
    if user is None or workspace is None or user.id is None or workspace.id is None:
        return None
    return Principal(
        user_id=user.id,
        user_name=user.name or user.email,
        user_email=user.email,
        workspace_id=workspace.id,
        workspace_name=workspace.name,
        role=membership.role,
    )


def staff_for_token(*, token: str | None, touch: bool = True) -> Staff | None:
    """The staff member behind a session cookie (whatever workspace the session points at),
    None for anyone else: staff-ness is read anew on every call (`accounts.is_staff`)."""
    if not token:
        return None
    with session_scope() if touch else Session(get_engine()) as session:
        record = resolve_session(session, token=token, policy=_policy())
        user = session.get(User, record.user_id) if record is not None else None
        if user is None or user.id is None or not accounts.is_staff(user):
            return None
        return Staff(user_id=user.id, user_name=user.name or user.email, user_email=user.email)


def session_alive(*, token: str | None) -> bool:
    """Whether the session still stands, read only: a live watcher keeps no session alive."""
    if not token:
        return False
    with Session(get_engine()) as session:  # never committed: resolving touches the session
        return resolve_session(session, token=token, policy=_policy()) is not None


def workspace_choices(*, user_id: int) -> list[tuple[int, str, str]]:
    """(id, name, role) of each workspace the user is an active member of, oldest first."""
    with session_scope() as session:
        return [
            (workspace.id, workspace.name, role)
            for workspace, role in accounts.user_workspaces(session, user_id=user_id)
            if workspace.id is not None
        ]


def switch_workspace(*, token: str | None, user_id: int, workspace_id: str) -> bool:
    """Point the session at another workspace the user is an active member of; False (and no
    change) for anything else: a workspace id is whatever the browser sent."""
    if not workspace_id.isdigit():
        return False
    with session_scope() as session:
        allowed = {w.id for w, _ in accounts.user_workspaces(session, user_id=user_id)}
        record = resolve_session(session, token=token, policy=_policy())
        if record is None or int(workspace_id) not in allowed:
            return False
        set_workspace(session, record=record, workspace_id=int(workspace_id))
        return True
