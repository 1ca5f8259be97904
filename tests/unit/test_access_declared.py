"""Every event handler and API route declares who may call it (or is a reviewed public one)."""

from tests.support.access import (
    PUBLIC_HANDLERS,
    public_handler_names,
    undeclared_handlers,
    undeclared_routes,
)


def test_every_event_handler_declares_its_access():
    assert undeclared_handlers() == [], "add @requires_role(...) (clerk_portal.ui.guard)"


def test_every_api_route_declares_its_access():
    assert undeclared_routes() == [], "wrap the endpoint in guarded_route(...) or make it public"


def test_public_handlers_are_exactly_the_reviewed_ones():
    assert public_handler_names() == PUBLIC_HANDLERS
