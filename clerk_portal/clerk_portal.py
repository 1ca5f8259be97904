"""The Reflex app: pages and the backend's own routes; nothing else."""

import reflex as rx

from clerk_portal.core import routes
from clerk_portal.core.settings import get_settings
from clerk_portal.ops import jobs
from clerk_portal.pages import home, login, numbers, pricing, quote, sales, team
from clerk_portal.pages.billing import history, invoices, overview, upgrade
from clerk_portal.pages.billing.state import BillingState
from clerk_portal.ui import state
from clerk_portal.ui.access import BillingAccessState
from clerk_portal.ui.state import SessionState, TabChangesHands
from clerk_portal.web import client_logs
from clerk_portal.web.api import build_api
from clerk_portal.web.security_headers import with_security_headers
from clerk_portal.workspace import live

# The backend's routes, then the security headers around everything (pages and files included).
# Whatever a browser can make the server log goes through client_logs: one line, capped, limited.
app = rx.App(
    # The dialogs are opened by state, not by a Radix trigger: this gives the focus back on close.
    head_components=[rx.script(src="/focus_return.js")],
    api_transformer=[build_api(), with_security_headers],
    frontend_exception_handler=client_logs.report_frontend_exception,
    backend_exception_handler=client_logs.report_backend_exception,
)
client_logs.install()
# Every worker runs the job runner; the one holding the database lease runs the periodic jobs
# (webhook inbox, quantity syncs, due plan changes, reconcile), the others stand by.
app.register_lifespan_task(jobs.run_jobs_forever)
# The worker's one live subscription (Redis, PostgreSQL or in process), closed at shutdown.
app.register_lifespan_task(live.serving)
# A tab's states are reset when the session behind it changes, before anything is sent to it.
app.add_middleware(TabChangesHands(), index=0)
state.serve(app)  # the session layer's view of the tabs' sockets and the pages' loaders

# (page, route, title, its own loader after the session and the owners' names)
_SIGNED_IN_PAGES = (
    (home.home, routes.HOME, "Home", home.LandingState.land),
    (overview.billing_overview, routes.BILLING, "Billing", BillingState.load_billing),
    (upgrade.upgrade, routes.UPGRADE, "Upgrade", upgrade.UpgradeState.load_upgrade),
    (team.team, routes.TEAM, "Team", team.TeamState.load_team),
    (numbers.numbers, routes.NUMBERS, "Numbers", numbers.NumbersState.load_numbers),
    (invoices.invoices, routes.INVOICES, "Invoices", invoices.InvoicesState.load_invoices),
    (history.billing_history, routes.HISTORY, "Billing history", history.HistoryState.load_history),
)
for component, route, title, loader in _SIGNED_IN_PAGES:
    app.add_page(
        component,
        route=route,
        title=f"{title} · Clerk Chat",
        on_load=[SessionState.load_session, BillingAccessState.load_owners]
        + ([loader] if loader else []),
    )
app.add_page(
    login.login,
    route=routes.LOGIN,
    title="Sign in · Clerk Chat",
    on_load=login.LoginState.read_query,
)
app.add_page(
    pricing.pricing,
    route=routes.PRICING,
    title="Pricing · Clerk Chat",
    on_load=pricing.PricingState.read_calculator_link,
)
app.add_page(
    sales.sales,
    route=routes.SALES,
    title="Sales · Clerk Chat",
    on_load=sales.SalesState.load_sales,
)
app.add_page(
    quote.quote_page,
    route=routes.QUOTE,
    title="Quote · Clerk Chat",
    on_load=quote.QuoteState.load_quote,
)

# The demo controls exist only in the demo: in production neither the page nor its state is made.
if get_settings().is_demo:
    from clerk_portal.pages import demo

    app.add_page(
        demo.demo,
        route=routes.DEMO,
        title="Demo controls · Clerk Chat",
        on_load=[
            SessionState.load_session,
            BillingAccessState.load_owners,
            demo.DemoState.load_demo,
        ],
    )
