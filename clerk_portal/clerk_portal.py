"""The Reflex app: pages and the backend's own routes; nothing else."""

import reflex as rx

from clerk_portal import routes
from clerk_portal.api import build_api
from clerk_portal.pages import history, invoices, login, numbers, pricing, skeleton, team
from clerk_portal.pages.billing_access import BillingAccessState
from clerk_portal.state import SessionState

app = rx.App(api_transformer=build_api())

# (page, route, title, its own loader after the session and the owners' names)
_SIGNED_IN_PAGES = (
    (skeleton.billing, routes.HOME, "Billing", None),
    (skeleton.billing, routes.BILLING, "Billing", None),
    (team.team, routes.TEAM, "Team", team.TeamState.load_team),
    (numbers.numbers, routes.NUMBERS, "Numbers", numbers.NumbersState.load_numbers),
    (invoices.invoices, routes.INVOICES, "Invoices", invoices.InvoicesState.load_invoices),
    (history.billing_history, routes.HISTORY, "Billing history", history.HistoryState.load_history),
)
for component, route, title, loader in _SIGNED_IN_PAGES:
    on_load = [SessionState.load_session, BillingAccessState.load_owners]
    app.add_page(
        component,
        route=route,
        title=f"{title} · Clerk Chat",
        on_load=[*on_load, loader] if loader else on_load,
    )
app.add_page(
    login.login,
    route=routes.LOGIN,
    title="Sign in · Clerk Chat",
    on_load=login.LoginState.read_query,
)
app.add_page(pricing.pricing, route=routes.PRICING, title="Pricing · Clerk Chat")
