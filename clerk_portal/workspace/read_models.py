"""Reads for the team and numbers pages: the rows they show, as plain frozen values (no ORM object
leaves the transaction).

It sits with the repository in the lowest workspace layer and writes its own queries (one each,
names joined in): the same rows, in the same order, as `repository.list_members` and
`repository.list_numbers` (tests/integration/ui/test_workspace_read_models.py holds them to it).
The pages read them a page at a time (`team_page`, `number_page`: keyset, "Show more"), so that
a page costs the same with 10 members or 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from clerk_portal.core.db import in_db
from clerk_portal.core.keyset import Page, keyset_page
from clerk_portal.models import Membership, PhoneNumber, User, format_e164
from clerk_portal.workspace.repository import SEAT_STATUSES

PAGE_SIZE = 50  # rows a page shows at first and adds with each "Show more"


@dataclass(frozen=True)
class TeamMember:
    membership_id: int
    user_id: int | None  # None: an invitation nobody has accepted yet
    name: str  # the user's name ("" for an invitation)
    email: str
    role: str
    status: str


@dataclass(frozen=True)
class WorkspaceNumber:
    id: int
    e164: str
    readable: str  # "+1 415 555 0100"
    added_at: datetime


def _member_rows() -> Any:
    """Invited and active memberships with their users' names (the query both reads share)."""
    return select(Membership, User.name).join(
        User, col(Membership.user_id) == col(User.id), isouter=True
    )


def _member(member: Membership, name: str | None) -> TeamMember:
    return TeamMember(
        membership_id=member.id or 0,
        user_id=member.user_id,
        name=(name or "") if member.user_id else "",
        email=member.email,
        role=member.role,
        status=member.status,
    )


def _number_rows() -> Any:
    return select(PhoneNumber.id, PhoneNumber.e164, PhoneNumber.created_at)


def _number(number_id: int, e164: str, created_at: datetime) -> WorkspaceNumber:
    return WorkspaceNumber(id=number_id, e164=e164, readable=format_e164(e164), added_at=created_at)


def _seats_of(workspace_id: int) -> tuple[Any, ...]:
    return (Membership.workspace_id == workspace_id, col(Membership.status).in_(SEAT_STATUSES))


def _active_numbers_of(workspace_id: int) -> tuple[Any, ...]:
    return (PhoneNumber.workspace_id == workspace_id, PhoneNumber.status == "active")


def team_members(session: Session, *, workspace_id: int) -> tuple[TeamMember, ...]:
    """Invited and active members, oldest invitation first, with their users' names."""
    rows = session.exec(
        _member_rows()
        .where(*_seats_of(workspace_id))
        .order_by(col(Membership.invited_at), col(Membership.id))
    ).all()
    return tuple(_member(member, name) for member, name in rows if member.id is not None)


def workspace_numbers(session: Session, *, workspace_id: int) -> tuple[WorkspaceNumber, ...]:
    """Active numbers, oldest first."""
    rows = session.exec(
        _number_rows()
        .where(*_active_numbers_of(workspace_id))
        .order_by(col(PhoneNumber.created_at), col(PhoneNumber.id))
    ).all()
    return tuple(_number(*row) for row in rows if row[0] is not None)


def team_page(
    session: Session,
    *,
    workspace_id: int,
    limit: int = PAGE_SIZE,
    cursor: str | None = None,
    pages: int = 1,
) -> Page[TeamMember]:
    """`team_members`, `limit` rows at a time by keyset on (invited_at, id), `pages` pages from
    `cursor` on (a page re-reads the pages it shows, each a bounded index range)."""
    query = _member_rows().where(*_seats_of(workspace_id))
    rows, cursor = _pages(
        session, query, Membership.invited_at, Membership.id, limit, cursor, pages
    )
    return Page([_member(member, name) for member, name in rows if member.id is not None], cursor)


def number_page(
    session: Session,
    *,
    workspace_id: int,
    limit: int = PAGE_SIZE,
    cursor: str | None = None,
    pages: int = 1,
) -> Page[WorkspaceNumber]:
    """`workspace_numbers`, `limit` rows at a time by keyset on (created_at, id)."""
    query = _number_rows().where(*_active_numbers_of(workspace_id))
    rows, cursor = _pages(
        session, query, PhoneNumber.created_at, PhoneNumber.id, limit, cursor, pages
    )
    return Page([_number(*row) for row in rows if row[0] is not None], cursor)


def _pages(
    session: Session,
    query: Any,
    created: Any,
    row_id: Any,
    limit: int,
    cursor: str | None,
    pages: int,
) -> tuple[list[Any], str | None]:
    rows: list[Any] = []
    for _ in range(max(1, pages)):
        page = keyset_page(session, query, created, row_id, limit, cursor, oldest_first=True)
        rows += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    return rows, cursor


def readable_number(e164: str) -> str:
    """How the pages write a number in a sentence: `+14155550100` → `+1 415 555 0100`."""
    return format_e164(e164)


async def load_team_page(
    workspace_id: int, *, cursor: str | None = None, pages: int = 1
) -> Page[TeamMember]:
    return await in_db(
        lambda session: team_page(session, workspace_id=workspace_id, cursor=cursor, pages=pages)
    )


async def load_number_page(
    workspace_id: int, *, cursor: str | None = None, pages: int = 1
) -> Page[WorkspaceNumber]:
    return await in_db(
        lambda session: number_page(session, workspace_id=workspace_id, cursor=cursor, pages=pages)
    )


async def load_team_members(workspace_id: int) -> tuple[TeamMember, ...]:
    return await in_db(lambda session: team_members(session, workspace_id=workspace_id))


async def load_numbers(workspace_id: int) -> tuple[WorkspaceNumber, ...]:
    return await in_db(lambda session: workspace_numbers(session, workspace_id=workspace_id))
