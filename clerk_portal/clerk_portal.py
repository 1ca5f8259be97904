"""The Reflex app: pages and the backend's own routes; nothing else."""

import reflex as rx

from clerk_portal import routes
from clerk_portal.api import build_api
from clerk_portal.pages import login, pricing, skeleton
from clerk_portal.pages.billing_access import BillingAccessState
from clerk_portal.state import SessionState

app = rx.App(api_transformer=build_api())

_SIGNED_IN_PAGES = (
    (skeleton.billing, routes.HOME, "Billing"),
    (skeleton.billing, routes.BILLING, "Billing"),
    (skeleton.team, routes.TEAM, "Team"),
    (skeleton.numbers, routes.NUMBERS, "Numbers"),
    (skeleton.invoices, routes.INVOICES, "Invoices"),
)
for component, route, title in _SIGNED_IN_PAGES:
    app.add_page(
        component,
        route=route,
        title=f"{title} · Clerk Chat",
        on_load=[SessionState.load_session, BillingAccessState.load_owners],
    )
app.add_page(
    login.login,
    route=routes.LOGIN,
    title="Sign in · Clerk Chat",
    on_load=login.LoginState.read_query,
)
app.add_page(pricing.pricing, route=routes.PRICING, title="Pricing · Clerk Chat")
