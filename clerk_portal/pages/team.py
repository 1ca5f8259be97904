"""Team (/team): everyone sees who is in the workspace; owners and admins invite, remove and
change roles. Adding or removing a seat is confirmed first, with its billing effect for owners."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import reflex as rx

from clerk_portal.components.change_dialog import confirm_dialog
from clerk_portal.components.skeleton import loading, table_skeleton
from clerk_portal.components.team_table import invite_form, member_table
from clerk_portal.core.errors import DomainError
from clerk_portal.core.keyset import Page
from clerk_portal.ui import guard
from clerk_portal.ui.change_dialog import PendingChange
from clerk_portal.ui.live import LiveWatch
from clerk_portal.ui.state import SessionState
from clerk_portal.workspace import changes as workspace_changes
from clerk_portal.workspace import read_models
from clerk_portal.workspace.changes import Actor


class MemberRow(TypedDict):
    id: str
    name: str
    email: str
    role: str
    status: str
    is_you: bool
    manageable: bool  # admins cannot touch owners


def _actor() -> Actor:
    who = guard.principal()
    return Actor(user_id=who.user_id, workspace_id=who.workspace_id, role=who.role)


def _member_row(actor: Actor, member: read_models.TeamMember) -> MemberRow:
    return MemberRow(
        id=str(member.membership_id),
        name=member.name,
        email=member.email,
        role=member.role,
        status=member.status,
        is_you=member.user_id == actor.user_id,
        manageable=actor.role == "owner" or member.role != "owner",
    )


async def _member_rows(
    actor: Actor, *, cursor: str | None = None, pages: int = 1
) -> tuple[list[MemberRow], str | None]:
    """`pages` pages of members from `cursor` on (oldest invitation first), and the next cursor."""
    page = await read_models.load_team_page(actor.workspace_id, cursor=cursor, pages=pages)
    return [_member_row(actor, member) for member in page.items], page.next_cursor


class TeamState(PendingChange, LiveWatch, rx.State):
    members: list[MemberRow] = []
    loaded: bool = False
    invite_error: str = ""
    has_more: bool = False
    loading_more: bool = False
    _cursor: str | None = None
    _pages: int = 1  # pages shown: a reload re-reads as many (each a bounded keyset range)

    def _show(self, rows: list[MemberRow], cursor: str | None) -> None:
        self.members, self._cursor, self.has_more = rows, cursor, cursor is not None

    async def _reload(self, actor: Actor) -> None:
        self._show(*await _member_rows(actor, pages=self._pages))

    @rx.event
    @guard.members_only
    async def load_team(self):
        self._pages = 1
        self._show(*await _member_rows(_actor()))
        self.loaded = True
        return TeamState.watch_live

    # The watcher's shared reload (ui/live.py): one read of the workspace's pages of members;
    # each tab marks its own person ("you") when it shows them.
    def _live_params(self, who: guard.Principal) -> int:
        return self._pages

    @classmethod
    async def _live_rows(
        cls, workspace_id: int, role: str, pages: int
    ) -> Page[read_models.TeamMember]:
        return await read_models.load_team_page(workspace_id, cursor=None, pages=pages)

    def _live_show(self, who: guard.Principal, page: Page[read_models.TeamMember]) -> None:
        actor = Actor(user_id=who.user_id, workspace_id=who.workspace_id, role=who.role)
        self._show([_member_row(actor, member) for member in page.items], page.next_cursor)

    @rx.event
    @guard.members_only
    async def load_more_members(self):
        if self._cursor is None:
            return
        self.loading_more = True
        yield
        rows, cursor = await _member_rows(_actor(), cursor=self._cursor)
        self._pages += 1
        self._show([*self.members, *rows], cursor)
        self.loading_more = False

    @rx.event
    @guard.team_managers_only
    async def review_invite(self, form: dict):
        actor = _actor()
        form = form if isinstance(form, dict) else {}
        self.invite_error = ""
        try:
            role = workspace_changes.parse_role(form.get("role") or "member")
            email = await asyncio.to_thread(
                workspace_changes.check_invite, actor, email=str(form.get("email") or ""), role=role
            )
        except DomainError as refused:
            self.invite_error = refused.message
            return
        self._open_change(
            "invite",
            {"email": email, "role": role},
            "Invite a team member?",
            f"{email} will be invited as {role} and takes a seat from now on.",
            "Send invitation",
        )
        async for update in self._load_effect(actor.role, actor.workspace_id, seats_delta=1):
            yield update

    @rx.event
    @guard.team_managers_only
    async def review_removal(self, member_id: str):
        actor = _actor()
        try:
            membership_id = workspace_changes.parse_id(member_id)
            email = await asyncio.to_thread(
                workspace_changes.check_removal, actor, membership_id=membership_id
            )
        except DomainError as refused:
            yield rx.toast.error(refused.message)
            return
        self._open_change(
            "remove",
            {"membership_id": str(membership_id)},
            f"Remove {email}?",
            f"{email} loses access to this workspace at once, and their seat is freed.",
            "Remove member",
        )
        async for update in self._load_effect(actor.role, actor.workspace_id, seats_delta=-1):
            yield update

    @rx.event
    @guard.team_managers_only
    async def confirm_change(self, token: str):
        actor = _actor()
        action, args, cents = self._take_change(token)
        operation = {
            "invite": lambda: workspace_changes.invite_member(
                actor, email=args["email"], role=args["role"], amount_cents=cents
            ),
            "remove": lambda: workspace_changes.remove_member(
                actor, membership_id=int(args["membership_id"]), amount_cents=cents
            ),
        }.get(action)
        if operation is None:
            yield self._stale_change(token)
            return
        self.saving = True
        yield
        done, refusal = await self._commit_change(operation, actor.workspace_id)
        if done is None:
            yield rx.toast.error(refusal)
            return
        await self._reload(actor)
        success = rx.toast.success(f"{done.summary}.")
        yield [success, rx.set_value("invite-email", "")] if action == "invite" else success

    @rx.event
    @guard.team_managers_only
    async def change_member_role(self, member_id: str, role: str):
        actor = _actor()
        try:
            done = await asyncio.to_thread(
                workspace_changes.change_role,
                actor,
                membership_id=workspace_changes.parse_id(member_id),
                role=workspace_changes.parse_role(role),
            )
        except DomainError as refused:
            await self._reload(actor)  # undo the select
            return rx.toast.error(refused.message)
        await self._reload(actor)
        return rx.toast.success(f"{done.summary}.")


def team() -> rx.Component:
    from clerk_portal.components.shell import page_shell

    return page_shell(
        "Team",
        rx.vstack(
            rx.cond(
                SessionState.manages_team,
                invite_form(TeamState),
                rx.callout(
                    "Only owners and admins can invite or remove members.",
                    icon="info",
                    id="team-read-only",
                ),
            ),
            rx.cond(
                TeamState.loaded,
                member_table(TeamState),
                loading(table_skeleton(3), element_id="team-loading"),
            ),
            spacing="5",
            width="100%",
            on_unmount=TeamState.stop_live,
        ),
        confirm_dialog(TeamState),
    )
