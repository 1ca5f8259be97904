"""The home page (/), where sign-in lands: each person goes on to what they use first."""

from __future__ import annotations

import reflex as rx

from clerk_portal.components.shell import page_shell
from clerk_portal.core import routes
from clerk_portal.ui import guard


class LandingState(rx.State):
    @rx.event
    @guard.members_only
    async def land(self):
        """Owners to billing, admins to the team, members to the page that names the owners."""
        return rx.redirect(routes.landing_for(guard.principal().role))


def home() -> rx.Component:
    return page_shell("Clerk Chat", rx.center(rx.spinner(size="3"), padding="48px"))
