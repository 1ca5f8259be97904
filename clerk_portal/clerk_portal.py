"""The Reflex app: pages and the backend's own routes; nothing else."""

import reflex as rx

from clerk_portal import routes
from clerk_portal.api import build_api
from clerk_portal.pages import skeleton
from clerk_portal.state import ShellState

app = rx.App(api_transformer=build_api())

_PAGES = (
    (skeleton.billing, routes.HOME, "Billing"),
    (skeleton.billing, routes.BILLING, "Billing"),
    (skeleton.team, routes.TEAM, "Team"),
    (skeleton.numbers, routes.NUMBERS, "Numbers"),
    (skeleton.invoices, routes.INVOICES, "Invoices"),
)
for component, route, title in _PAGES:
    app.add_page(
        component, route=route, title=f"{title} · Clerk Chat", on_load=ShellState.load_shell
    )
