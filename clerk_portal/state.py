"""Who is signed in and which workspace the shell shows; every page loads this first."""

from __future__ import annotations

import asyncio
from typing import TypedDict

import reflex as rx

from clerk_portal import routes
from clerk_portal.auth import accounts, guard
from clerk_portal.auth.sessions import SessionPolicy, resolve_session, set_workspace
from clerk_portal.billing import services
from clerk_portal.db import session_scope
from clerk_portal.settings import get_settings


class WorkspaceOption(TypedDict):
    id: str
    name: str
    role: str


class SessionState(rx.State):
    signed_in: bool = False
    user_name: str = ""
    role: str = ""
    workspace_name: str = ""
    workspaces: list[WorkspaceOption] = []
    on_trial: bool = False
    trial_days_left: int = 0
    trial_expired: bool = False
    read_only: bool = False

    @rx.var
    def is_owner(self) -> bool:
        return self.role == "owner"

    @rx.var
    def manages_team(self) -> bool:
        return self.role in ("owner", "admin")

    @rx.event
    @guard.public_handler
    async def load_session(self):
        """on_load of every signed-in page: no session, no page."""
        principal = await guard.current_principal(self)
        if principal is None:
            self.signed_in, self.role = False, ""
            return guard.login_redirect(self)
        options = await asyncio.to_thread(_workspace_options, principal.user_id)
        trial = await services.get_trial_state(workspace_id=principal.workspace_id)
        self.on_trial = trial.on_trial
        self.trial_days_left, self.trial_expired = trial.days_left, trial.expired
        self.read_only = trial.read_only
        self.signed_in = True
        self.user_name = principal.user_name
        self.role = principal.role
        self.workspace_name = principal.workspace_name
        self.workspaces = options
        return None

    @rx.event
    @guard.members_only
    async def switch_workspace(self, workspace_id: str):
        """Open another workspace the user is an active member of (checked server-side)."""
        token = guard.session_token_of(self)
        switched = await asyncio.to_thread(_switch, token, guard.principal().user_id, workspace_id)
        if not switched:
            return rx.toast.error("You are not a member of that workspace.")
        return rx.redirect(routes.BILLING)


def _workspace_options(user_id: int) -> list[WorkspaceOption]:
    with session_scope() as session:
        return [
            WorkspaceOption(id=str(workspace.id), name=workspace.name, role=role)
            for workspace, role in accounts.user_workspaces(session, user_id=user_id)
        ]


def _switch(token: str | None, user_id: int, workspace_id: str) -> bool:
    if not workspace_id.isdigit():
        return False
    with session_scope() as session:
        allowed = {w.id for w, _ in accounts.user_workspaces(session, user_id=user_id)}
        record = resolve_session(
            session, token=token, policy=SessionPolicy.from_settings(get_settings())
        )
        if record is None or int(workspace_id) not in allowed:
            return False
        set_workspace(session, record=record, workspace_id=int(workspace_id))
        return True
