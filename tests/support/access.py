"""Discover every event handler and HTTP route of the app, and who may call each.

A handler declares its access with `clerk_portal.ui.guard.requires_role(...)` (which sets
`__guard_roles__`); a route likewise with `guarded_route(...)`. The few public entry points are
named here, so making something public is a visible, reviewed change.
"""

from __future__ import annotations

from reflex.state import State

from clerk_portal.core import routes

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
    # Contact sales: a form anyone may send (validated, stored).
    "open_contact_sales",
    "close_contact_sales",
    "submit_inquiry",
}
PUBLIC_ROUTES = {
    routes.HEALTHZ,
    routes.AUTH_LOGIN,
    routes.AUTH_CALLBACK,
    routes.AUTH_LOGOUT,  # same-origin only; ends the caller's own session
    routes.AUTH_DEMO,  # demo mode only
    routes.STRIPE_WEBHOOK,  # signed by Stripe
}
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


def _api_routes():
    from clerk_portal.web.api import build_api

    return [route for route in build_api().routes if hasattr(route, "endpoint")]


def undeclared_routes() -> list[str]:
    return [
        route.path
        for route in _api_routes()
        if route.path not in PUBLIC_ROUTES and not getattr(route.endpoint, "__guard_roles__", None)
    ]


def guarded_routes():
    return [
        (route.path, sorted(route.methods - {"HEAD"}), route.endpoint.__guard_roles__)
        for route in _api_routes()
        if getattr(route.endpoint, "__guard_roles__", None)
    ]
