"""Every event handler and API route declares who may call it (or is a reviewed public one)."""

from clerk_portal.core import routes
from clerk_portal.core.settings import get_settings
from tests.support.access import (
    PUBLIC_HANDLERS,
    PUBLIC_ROUTES,
    guarded_routes,
    public_handler_names,
    served_routes,
    undeclared_handlers,
    undeclared_routes,
)


def test_every_event_handler_declares_its_access():
    assert undeclared_handlers() == [], "add @requires_role(...) (clerk_portal.ui.guard)"


def test_every_api_route_declares_its_access():
    assert undeclared_routes() == [], (
        "set __guard_roles__ on the endpoint (and add it to the authorization matrix) "
        "or make it a reviewed public route (tests/support/access.py)"
    )


def test_public_handlers_are_exactly_the_reviewed_ones():
    assert public_handler_names() == PUBLIC_HANDLERS


def test_public_routes_are_exactly_the_reviewed_ones():
    """Both ways: a public route that disappears, or a stale allowlist entry, is noticed too."""
    served = {path for path, _methods, _roles in served_routes()}
    guarded = {path for path, _methods, _roles in guarded_routes()}
    demo_only = set() if get_settings().is_demo else {routes.AUTH_DEMO}

    assert served - guarded == PUBLIC_ROUTES - demo_only
