"""Who may see billing: owners get the billing pages; everyone else learns who the owners are."""

from __future__ import annotations

import asyncio

import reflex as rx

from clerk_portal.ui import guard
from clerk_portal.ui.state import SessionState
from clerk_portal.workspace import members


class BillingAccessState(rx.State):
    owner_names: list[str] = []

    @rx.event
    @guard.members_only
    async def load_owners(self) -> None:
        workspace_id = guard.principal().workspace_id
        self.owner_names = await asyncio.to_thread(members.owner_names, workspace_id=workspace_id)


def managed_by_owners() -> rx.Component:
    return rx.callout(
        rx.text(
            "Billing is managed by the workspace owner(s): ",
            rx.text.strong(BillingAccessState.owner_names.join(", ")),
            ". Ask them to change the plan, the card or the invoices.",
        ),
        icon="lock",
        id="billing-owners-only",
    )


def owners_only(*owner_view: rx.Component) -> rx.Component:
    """Render billing for owners, the owners' names for everyone else (the server checks too)."""
    return rx.cond(SessionState.is_owner, rx.fragment(*owner_view), managed_by_owners())
