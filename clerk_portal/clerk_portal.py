"""The Reflex app: pages and the backend's own routes; nothing else."""

import reflex as rx

from clerk_portal import routes
from clerk_portal.api import build_api
from clerk_portal.billing import reconcile, webhooks
from clerk_portal.pages import login, pricing, skeleton
from clerk_portal.pages.billing.access import BillingAccessState
from clerk_portal.state import SessionState

app = rx.App(api_transformer=build_api())
# Background work of every backend worker: the webhook inbox's safety net (events whose in-process
# processing was lost or failed) and the periodic billing jobs (reconcile, due plan changes).
app.register_lifespan_task(webhooks.webhook_worker_forever)
app.register_lifespan_task(reconcile.reconcile_forever)

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
