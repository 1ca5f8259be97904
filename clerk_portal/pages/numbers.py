"""Numbers (/numbers): the workspace's texting numbers; owners and admins add and release them.
Each change is confirmed first, with its billing effect for owners."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import reflex as rx

from clerk_portal.components.change_dialog import confirm_dialog
from clerk_portal.components.number_table import add_number_form, number_table
from clerk_portal.components.shell import page_shell
from clerk_portal.components.skeleton import loading, table_skeleton
from clerk_portal.core import formats
from clerk_portal.core.errors import DomainError
from clerk_portal.core.keyset import Page
from clerk_portal.ui import guard
from clerk_portal.ui.change_dialog import PendingChange
from clerk_portal.ui.live import LiveWatch
from clerk_portal.ui.state import SessionState
from clerk_portal.workspace import changes as workspace_changes
from clerk_portal.workspace import read_models
from clerk_portal.workspace.changes import Actor


class NumberRow(TypedDict):
    id: str
    number: str
    e164: str
    added: str


def _actor() -> Actor:
    who = guard.principal()
    return Actor(user_id=who.user_id, workspace_id=who.workspace_id, role=who.role)


def _number_row(phone: read_models.WorkspaceNumber) -> NumberRow:
    return NumberRow(
        id=str(phone.id),
        number=phone.readable,
        e164=phone.e164,
        added=formats.day(phone.added_at),
    )


async def _number_rows(
    workspace_id: int, *, cursor: str | None = None, pages: int = 1
) -> tuple[list[NumberRow], str | None]:
    """`pages` pages of active numbers from `cursor` on (oldest first), and the next cursor."""
    page = await read_models.load_number_page(workspace_id, cursor=cursor, pages=pages)
    return [_number_row(phone) for phone in page.items], page.next_cursor


class NumbersState(PendingChange, LiveWatch, rx.State):
    numbers: list[NumberRow] = []
    loaded: bool = False
    number_error: str = ""
    has_more: bool = False
    loading_more: bool = False
    _cursor: str | None = None
    _pages: int = 1  # pages shown: a reload re-reads as many (each a bounded keyset range)

    def _show(self, rows: list[NumberRow], cursor: str | None) -> None:
        self.numbers, self._cursor, self.has_more = rows, cursor, cursor is not None

    @rx.event
    @guard.members_only
    async def load_numbers(self):
        self._pages = 1
        self._show(*await _number_rows(guard.principal().workspace_id))
        self.loaded = True
        return NumbersState.watch_live

    # The watcher's shared reload (ui/live.py): the rows depend on the workspace and the pages;
    # the page read is shared by the woken tabs, each builds its own rows from it.
    def _live_params(self, who: guard.Principal) -> int:
        return self._pages

    @classmethod
    async def _live_rows(
        cls, workspace_id: int, role: str, pages: int
    ) -> Page[read_models.WorkspaceNumber]:
        return await read_models.load_number_page(workspace_id, cursor=None, pages=pages)

    def _live_show(self, who: guard.Principal, page: Page[read_models.WorkspaceNumber]) -> None:
        self._show([_number_row(phone) for phone in page.items], page.next_cursor)

    @rx.event
    @guard.members_only
    async def load_more_numbers(self):
        if self._cursor is None:
            return
        self.loading_more = True
        yield
        rows, cursor = await _number_rows(guard.principal().workspace_id, cursor=self._cursor)
        self._pages += 1
        self._show([*self.numbers, *rows], cursor)
        self.loading_more = False

    @rx.event
    @guard.team_managers_only
    async def review_number(self, form: dict):
        actor = _actor()
        form = form if isinstance(form, dict) else {}
        self.number_error = ""
        try:
            e164 = await asyncio.to_thread(
                workspace_changes.check_number, actor, e164=str(form.get("number") or "")
            )
        except DomainError as refused:
            self.number_error = refused.message
            return
        self._open_change(
            "add",
            {"e164": e164},
            f"Add {read_models.readable_number(e164)}?",
            "The number can send and receive texts in this workspace from now on.",
            "Add number",
        )
        async for update in self._load_effect(actor.role, actor.workspace_id, numbers_delta=1):
            yield update

    @rx.event
    @guard.team_managers_only
    async def review_release(self, number_id: str):
        actor = _actor()
        try:
            parsed = workspace_changes.parse_id(number_id)
            number = await asyncio.to_thread(
                workspace_changes.check_release, actor, number_id=parsed
            )
        except DomainError as refused:
            yield rx.toast.error(refused.message)
            return
        self._open_change(
            "release",
            {"number_id": str(parsed)},
            f"Release {number}?",
            "Texts to this number stop reaching your team. You can add it again later "
            "while nobody else has taken it.",
            "Release number",
        )
        async for update in self._load_effect(actor.role, actor.workspace_id, numbers_delta=-1):
            yield update

    @rx.event
    @guard.team_managers_only
    async def confirm_change(self, token: str):
        actor = _actor()
        action, args, cents = self._take_change(token)
        operation = {
            "add": lambda: workspace_changes.add_number(
                actor, e164=args["e164"], amount_cents=cents
            ),
            "release": lambda: workspace_changes.release_number(
                actor, number_id=int(args["number_id"]), amount_cents=cents
            ),
        }.get(action)
        if operation is None:
            yield self._stale_change(token)
            return
        self.saving = True
        yield
        done, refusal = await self._commit_change(operation, actor.workspace_id)
        if done is None:
            if action == "add":
                self.number_error = refusal
            yield rx.toast.error(refusal)
            return
        self._show(*await _number_rows(actor.workspace_id, pages=self._pages))
        success = rx.toast.success(f"{done.summary}.")
        yield [success, rx.set_value("number-input", "")] if action == "add" else success


def numbers() -> rx.Component:
    return page_shell(
        "Numbers",
        rx.vstack(
            rx.cond(
                SessionState.manages_team,
                add_number_form(NumbersState),
                rx.callout(
                    "Only owners and admins can add or release numbers.",
                    icon="info",
                    id="numbers-read-only",
                ),
            ),
            rx.cond(
                NumbersState.loaded,
                number_table(NumbersState),
                loading(table_skeleton(3), element_id="numbers-loading"),
            ),
            spacing="5",
            width="100%",
            on_unmount=NumbersState.stop_live,
        ),
        confirm_dialog(NumbersState),
    )
