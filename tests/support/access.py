"""Discover every event handler and HTTP route of the app, and who may call each.

A handler declares its access with `clerk_portal.ui.guard.requires_role(...)` (which sets
`__guard_roles__`); a route declares it with `__guard_roles__` on its endpoint (the invoice PDF,
owners only); every other served route is a reviewed public one. The few public entry points are
named here, so making something public is a visible, reviewed change. Who may call each guarded
handler is reviewed here too (`reviewed_roles`), so that a widened declaration does not widen the
tests' expectation with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from reflex.state import State
from sqlmodel import SQLModel
from starlette.routing import Route

from clerk_portal.core import routes
from clerk_portal.ui import guard

# Handlers marked @public_handler, by method name: each is a reviewed decision.
PUBLIC_HANDLERS = {
    # Resolves the session itself and only reports who is signed in (or redirects to sign-in).
    "load_session",
    # The sign-in page's query string.
    "read_query",
    # The plan calculator (public pricing page and upgrade form): this tab's choices only.
    "select_plan",
    "select_interval",
    "set_seats",
    "set_numbers",
    "step_seats",
    "step_numbers",
    # The pricing page's shared link: reads this tab's URL into this tab's calculator; copies it.
    "read_calculator_link",
    "copy_calculator_link",
    # Contact sales: a form anyone may send (validated, stored).
    "open_contact_sales",
    "contact_sales",  # the calculator's: opens it with this tab's seats and numbers
    "close_contact_sales",
    "submit_inquiry",
    # A quote's share link: reads the quote its token names (public, read-only).
    "load_quote",
}
PUBLIC_ROUTES = {
    routes.HEALTHZ,
    routes.AUTH_LOGIN,
    routes.AUTH_CALLBACK,
    routes.AUTH_LOGOUT,  # same-origin only; ends the caller's own session
    routes.AUTH_DEMO,  # demo mode only
    routes.STRIPE_WEBHOOK,  # signed by Stripe
    routes.QUOTE_PDF,  # a quote's PDF: the share link's unguessable token is the key (GET)
    # Reflex's own, added by reflex/app.py: liveness probes (GET, they read nothing of the portal).
    "/ping",
    "/_health",
}
# Handlers anyone signed in to the workspace may call (the page loaders of team and numbers
# show a read-only view to members; the live watcher; choosing a workspace of one's own).
SIGNED_IN_HANDLERS = {
    "load_team",
    "load_numbers",
    "load_more_members",  # the team page's next page, as read-only to members as the first
    "load_more_numbers",
    "load_owners",  # "who manages billing", shown to members too
    "land",  # the home page sends each person on by role
    "switch_workspace",
    "watch_live",
    "stop_live",
    "live_reload",
}
# The states whose every other handler is for owners only, and those for owners and admins.
OWNER_ONLY_STATES = ("clerk_portal___pages___billing___", "clerk_portal___pages___quote____")
TEAM_MANAGER_STATES = ("clerk_portal___pages___team____", "clerk_portal___pages___numbers____")
# The demo controls (demo mode only): anyone signed in to the demo workspace (the handlers refuse
# every other workspace themselves).
DEMO_STATES = ("clerk_portal___pages___demo____",)
# The sales pages: Clerk Chat staff only (sales reps; not a workspace role).
STAFF_STATES = ("clerk_portal___pages___sales____",)
# Reflex's own generic handler on every state; with auto-setters off it can set nothing.
REFLEX_BUILTINS = {"setvar"}


def _walk(state):
    yield state
    for substate in state.get_substates():
        yield from _walk(substate)


def portal_states():
    import clerk_portal.clerk_portal  # noqa: F401 - registers every page and state

    return [state for state in _walk(State) if state.__module__.startswith("clerk_portal")]


def _short(full_name: str) -> str:
    return full_name.split(".", 1)[1]


def all_handlers():
    """(full name, handler, roles or None) for every handler the portal registers."""
    for state in portal_states():
        for name, handler in state.event_handlers.items():
            if name in REFLEX_BUILTINS:
                continue
            full_name = f"{state.get_full_name()}.{name}"
            yield full_name, handler, getattr(handler.fn, "__guard_roles__", None)


def is_public(handler) -> bool:
    return getattr(handler.fn, "__public_handler__", False)


def undeclared_handlers() -> list[str]:
    return [
        _short(name)
        for name, handler, roles in all_handlers()
        if roles is None and not is_public(handler)
    ]


def public_handler_names() -> set[str]:
    return {
        name.rsplit(".", 1)[1] for name, handler, _roles in all_handlers() if is_public(handler)
    }


def guarded_handlers():
    return [(name, handler, roles) for name, handler, roles in all_handlers() if roles]


def reviewed_roles(full_name: str) -> frozenset[str] | None:
    """Who may call the handler `full_name`, as reviewed here (None: no review covers it)."""
    state, method = full_name.rsplit(".", 1)
    state = state.rsplit(".", 1)[-1]
    if method in SIGNED_IN_HANDLERS:
        return guard.ANY_MEMBER
    if state.startswith(OWNER_ONLY_STATES):
        return guard.OWNER
    if state.startswith(TEAM_MANAGER_STATES):
        return guard.TEAM_MANAGERS
    if state.startswith(DEMO_STATES):
        return guard.ANY_MEMBER
    if state.startswith(STAFF_STATES):
        return guard.STAFF
    return None


def _api_routes():
    """The backend's own routes (clerk_portal.web.api), built with the current settings."""
    from clerk_portal.web.api import build_api

    return [route for route in build_api().routes if isinstance(route, Route)]


def _reflex_routes():
    """The HTTP routes Reflex adds itself (reflex/app.py: /ping, /_health; /_upload once an upload
    component is used). The /_event websocket is a Mount: its origin check has a test of its own."""
    from clerk_portal.clerk_portal import app

    return [route for route in app._api.routes if isinstance(route, Route)]


def served_routes():
    """(path, methods, roles or None) for every HTTP route the portal's backend serves."""
    return [
        (
            route.path,
            sorted(route.methods - {"HEAD"}),
            getattr(route.endpoint, "__guard_roles__", None),
        )
        for route in _api_routes() + _reflex_routes()
    ]


def undeclared_routes() -> list[str]:
    return [
        path for path, _methods, roles in served_routes() if path not in PUBLIC_ROUTES and not roles
    ]


def guarded_routes():
    return [(path, methods, roles) for path, methods, roles in served_routes() if roles]


FOREIGN_ORIGIN = "https://evil.example"
# What a state-changing route would accept from the portal's own page (demo sign-in: who).
ACCEPTED_FORM = {"as": "owner"}


def check_served_routes(send, snapshot, *, cookie: str | None, own_origin: str, allowed) -> int:
    """Send every state-changing request the portal serves, with `cookie`, and check the refusals.

    A public route gets the request from another site, as a forged form post
    would send it: it must answer 4xx and change no table. A guarded route gets it from the
    portal itself: `allowed(roles)` people must not be refused; anyone else gets 401/403 and
    changes no table. Reads (public GETs) change nothing and are left to their own tests.
    `send(method, path, headers=..., data=...)` returns the response, `snapshot()` every table.
    Returns how many requests were checked (the caller asserts it is not zero).
    """
    checked = 0
    for path, methods, roles in served_routes():
        for method in methods:
            if not roles and method == "GET":
                continue
            headers = {"origin": own_origin if roles else FOREIGN_ORIGIN}
            if cookie:
                headers["cookie"] = cookie
            before = snapshot()
            response = send(method, path, headers=headers, data=ACCEPTED_FORM)
            label = f"{method} {path}: {response.status_code}"
            if roles and allowed(roles):
                assert response.status_code not in (401, 403), f"refused {label}"
            else:
                expected = (401, 403) if roles else range(400, 500)
                assert response.status_code in expected, f"not refused: {label}"
                assert snapshot() == before, f"{label} was refused but wrote to the database"
            checked += 1
    return checked


# The job runner's lease: its holder renews it every few seconds whatever anyone requests.
RUNNER_TABLES = {"job_lease"}


def full_snapshot(connection) -> dict[str, list[str]]:
    """Every row of every table, the ones that record visits too: a refusal writes nothing."""
    return {
        table.name: sorted(map(repr, connection.execute(sa.select(table)).all()))
        for table in SQLModel.metadata.sorted_tables
        if table.name not in RUNNER_TABLES
    }
