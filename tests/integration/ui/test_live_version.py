"""Membership changes raise the workspace's live version, so open tabs (their shell: role,
navigation) follow them: a role change on the team page, and an invitation accepted at sign-in."""

from __future__ import annotations

from sqlmodel import select

from clerk_portal.auth import accounts
from clerk_portal.auth.oidc import Identity
from clerk_portal.core.db import session_scope
from clerk_portal.models import Membership
from clerk_portal.workspace import changes, repository
from clerk_portal.workspace.changes import Actor
from tests.support import workspaces


def _workspace() -> tuple[Actor, int]:
    """A workspace with its owner and an invited admin; (the owner, the invitation's id)."""
    with session_scope() as session:
        owner, workspace = workspaces.acme(session)
        invited = repository.add_member(
            session, workspace_id=workspace.id, email="bob@x.example", role="admin"
        )
        return Actor(owner.id, workspace.id, "owner"), invited.id


def _version(workspace_id: int) -> int:
    with session_scope() as session:
        return workspaces.mirror_version(session, workspace_id)


def test_a_role_change_raises_the_live_version(portal_database):
    owner, invitation = _workspace()
    before = _version(owner.workspace_id)

    changes.change_role(owner, membership_id=invitation, role="member")

    assert _version(owner.workspace_id) == before + 1


def test_an_invitation_accepted_at_sign_in_raises_the_live_version(portal_database):
    owner, invitation = _workspace()
    before = _version(owner.workspace_id)

    with session_scope() as session:
        accounts.complete_sign_in(
            session,
            identity=Identity(
                issuer="t", subject="bob", email="bob@x.example", name="Bob", email_verified=True
            ),
            trial_days=14,
        )

    with session_scope() as session:
        assert session.exec(select(Membership.status).where(Membership.id == invitation)).one() == (
            "active"
        )
    assert _version(owner.workspace_id) == before + 1
