"""What the team and numbers pages read (workspace.read_models): their rows, in their order, of
their workspace only; the same rows as the repository's lists."""

from __future__ import annotations

from datetime import UTC, datetime

from clerk_portal.core.db import session_scope
from clerk_portal.workspace import read_models, repository
from clerk_portal.workspace.read_models import TeamMember, WorkspaceNumber

DAY = [datetime(2026, 1, day, 9, 0, tzinfo=UTC) for day in range(1, 10)]


def _workspace(session, name: str, owner: str) -> tuple[int, int]:
    user = repository.upsert_user(
        session, issuer="t", subject=owner, email=f"{owner}@{name}.example", name=owner.title()
    )
    workspace = repository.create_workspace(
        session, name=name, owner_email=user.email, owner_user_id=user.id
    )
    owner_row = repository.list_members(session, workspace_id=workspace.id)[0]
    owner_row.invited_at = DAY[0]
    return workspace.id, user.id


def _team() -> tuple[int, int, dict[str, int]]:
    """An "other" workspace made first (its rows come first in any unfiltered query), then
    "acme": its owner, a member invited on day 5 and one on day 3 (ids out of date order), an
    active member with a user, one without a name, and a removed member."""
    with session_scope() as session:
        other_id, other_owner = _workspace(session, "other", "oscar")
        repository.add_member(session, workspace_id=other_id, email="x@other.example", now=DAY[1])
        workspace_id, owner_id = _workspace(session, "acme", "olivia")
        sam = repository.upsert_user(
            session, issuer="t", subject="sam", email="sam@acme.example", name="Sam Lee"
        )
        nameless = repository.upsert_user(
            session, issuer="t", subject="nn", email="nn@acme.example", name=""
        )
        # Oscar is in both workspaces: his Acme seat is listed once, with his name.
        repository.add_member(
            session,
            workspace_id=workspace_id,
            email="oscar@acme.example",
            user_id=other_owner,
            now=DAY[6],
        )
        late = repository.add_member(
            session, workspace_id=workspace_id, email="late@acme.example", now=DAY[5]
        )
        early = repository.add_member(
            session, workspace_id=workspace_id, email="early@acme.example", now=DAY[3]
        )
        repository.add_member(
            session,
            workspace_id=workspace_id,
            email=sam.email,
            role="admin",
            user_id=sam.id,
            now=DAY[4],
        )
        repository.add_member(
            session,
            workspace_id=workspace_id,
            email=nameless.email,
            user_id=nameless.id,
            now=DAY[4],
        )
        gone = repository.add_member(
            session, workspace_id=workspace_id, email="gone@acme.example", now=DAY[2]
        )
        repository.remove_member(session, workspace_id=workspace_id, membership_id=gone.id)
        users = {"olivia": owner_id, "sam": sam.id, "nameless": nameless.id, "oscar": other_owner}
        assert late.id < early.id
        return workspace_id, other_id, users


async def test_team_members_are_the_workspace_seats_oldest_invitation_first_with_names():
    workspace_id, _other, users = _team()

    members = await read_models.load_team_members(workspace_id)

    assert [(m.email, m.name, m.role, m.status) for m in members] == [
        ("olivia@acme.example", "Olivia", "owner", "active"),
        ("early@acme.example", "", "member", "invited"),
        ("sam@acme.example", "Sam Lee", "admin", "active"),
        ("nn@acme.example", "", "member", "active"),
        ("late@acme.example", "", "member", "invited"),
        ("oscar@acme.example", "Oscar", "member", "active"),
    ]
    assert [m.user_id for m in members] == [
        users["olivia"],
        None,
        users["sam"],
        users["nameless"],
        None,
        users["oscar"],
    ]
    assert all(isinstance(m, TeamMember) for m in members)


async def test_team_members_are_the_repository_list_in_its_order():
    workspace_id, _other, _users = _team()

    members = await read_models.load_team_members(workspace_id)

    with session_scope() as session:
        listed = repository.list_members(session, workspace_id=workspace_id)
        expected = [(m.id, m.email, m.role, m.status) for m in listed]
    assert [(m.membership_id, m.email, m.role, m.status) for m in members] == expected


async def test_another_workspace_never_sees_these_members():
    workspace_id, other_id, _users = _team()

    other = await read_models.load_team_members(other_id)
    acme = await read_models.load_team_members(workspace_id)

    assert [m.email for m in other] == ["oscar@other.example", "x@other.example"]
    assert not {m.membership_id for m in other} & {m.membership_id for m in acme}
    assert await read_models.load_team_members(workspace_id + 100) == ()


def _numbers() -> tuple[int, int]:
    """Acme's numbers added on days 4, 2 and 3 (ids out of date order), one of them released
    later; another workspace's, made first, on day 1."""
    with session_scope() as session:
        other_id, _ = _workspace(session, "other", "oscar")
        repository.add_number(session, workspace_id=other_id, e164="+14155550199", now=DAY[1])
        workspace_id, _ = _workspace(session, "acme", "olivia")
        repository.add_number(session, workspace_id=workspace_id, e164="+14155550104", now=DAY[4])
        repository.add_number(session, workspace_id=workspace_id, e164="+442079460000", now=DAY[2])
        released = repository.add_number(
            session, workspace_id=workspace_id, e164="+14155550103", now=DAY[3]
        )
        repository.release_number(session, workspace_id=workspace_id, number_id=released.id)
        repository.add_number(session, workspace_id=workspace_id, e164="+14155550105", now=DAY[3])
        return workspace_id, other_id


async def test_numbers_are_the_active_ones_oldest_first_in_readable_form():
    workspace_id, _other = _numbers()

    numbers = await read_models.load_numbers(workspace_id)

    assert [(n.e164, n.readable, n.added_at) for n in numbers] == [
        ("+442079460000", "+442079460000", DAY[2]),
        ("+14155550105", "+1 415 555 0105", DAY[3]),
        ("+14155550104", "+1 415 555 0104", DAY[4]),
    ]
    assert all(isinstance(n, WorkspaceNumber) for n in numbers)
    with session_scope() as session:
        listed = repository.list_numbers(session, workspace_id=workspace_id)
        assert [n.id for n in numbers] == [n.id for n in listed]


async def test_another_workspace_never_sees_these_numbers():
    workspace_id, other_id = _numbers()

    other = await read_models.load_numbers(other_id)

    assert [n.e164 for n in other] == ["+14155550199"]
    assert "+14155550199" not in [n.e164 for n in await read_models.load_numbers(workspace_id)]
    assert await read_models.load_numbers(workspace_id + 100) == ()


def test_a_number_reads_the_way_the_pages_write_it():
    assert read_models.readable_number("+14155550100") == "+1 415 555 0100"
    assert read_models.readable_number("+442079460000") == "+442079460000"
