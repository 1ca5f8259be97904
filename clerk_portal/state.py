"""Shared state that every page reads: which workspace the shell shows."""

from __future__ import annotations

import reflex as rx
from sqlmodel import select

from clerk_portal.db import session_scope
from clerk_portal.models import Workspace


class ShellState(rx.State):
    workspace_name: str = ""

    @rx.event
    async def load_shell(self) -> None:
        # Until sign-in exists (identity issue), the shell shows the first workspace.
        with session_scope() as session:
            workspace = session.exec(select(Workspace).order_by(Workspace.id)).first()
        self.workspace_name = workspace.name if workspace else "Your workspace"
