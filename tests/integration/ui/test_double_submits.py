"""Issue 10, bug 10: an invitation sent twice (a double click, two tabs) is one invitation, one
activity row, and no error for the second."""

from __future__ import annotations

import asyncio

import pytest

from clerk_portal.billing import ledger
from clerk_portal.core.db import session_scope
from clerk_portal.core.errors import MemberExistsError
from clerk_portal.workspace import changes, repository
from clerk_portal.workspace.changes import Actor
from tests.support import workspaces


@pytest.fixture
def owner() -> Actor:
    with session_scope() as session:
        return workspaces.owner_actor(session)


def _invitations(workspace_id: int) -> list[str]:
    with session_scope() as session:
        page = ledger.activity_page(session, workspace_id=workspace_id, limit=100)
        return [row.summary for row in page.items if row.kind == "member_invited"]


def _invite(actor: Actor, role: str = "member") -> changes.Change:
    return changes.invite_member(actor, email="new@x.example", role=role, amount_cents=4900)


def test_the_same_invitation_sent_again_is_one_invitation_and_no_error(owner):
    first = _invite(owner)
    again = _invite(owner)

    assert (first.seats_delta, again.seats_delta) == (1, 0)  # the seat is counted once
    assert "already invited" in again.summary
    assert _invitations(owner.workspace_id) == ["Invited new@x.example as member"]


async def test_the_same_invitation_sent_twice_at_once_is_one_invitation(owner):
    done = await asyncio.gather(
        asyncio.to_thread(_invite, owner), asyncio.to_thread(_invite, owner)
    )

    assert sorted(change.seats_delta for change in done) == [0, 1]
    assert _invitations(owner.workspace_id) == ["Invited new@x.example as member"]


def test_another_invitation_of_an_invited_email_is_still_refused(owner):
    _invite(owner)
    with pytest.raises(MemberExistsError, match="already a member"):
        _invite(owner, role="admin")  # a different invitation, not a repeat
    with session_scope() as session:
        admin = repository.upsert_user(session, issuer="t", subject="a", email="a@x.example")
        repository.add_member(
            session,
            workspace_id=owner.workspace_id,
            email=admin.email,
            role="admin",
            user_id=admin.id,
        )
    with pytest.raises(MemberExistsError, match="already a member"):
        _invite(Actor(admin.id, owner.workspace_id, "admin"))  # someone else's invitation
    assert len(_invitations(owner.workspace_id)) == 1
