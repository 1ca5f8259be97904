"""First load (issue 16): between the session and the page's own data, each owner page shows the
grey shapes of its cards and tables (a busy status named Loading), then the data in their place.

The page's data is held back in the websocket (Playwright's route_web_socket) from the first
update that marks a state loaded, so the loading state stays on screen long enough to check."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.support.browser import screenshot
from tests.support.workspaces import signed_in_owner

LOADED = re.compile(r'"loaded_rx_state_"\s*:\s*true')
SCREENS = {
    # page: (its loading shapes, what replaces them)
    "/billing": ("#billing-loading", "#plan-label"),
    "/invoices": ("#invoices-loading", "#invoices-empty"),
    "/billing/history": ("#history-loading", "#invoiced-chart"),
    "/team": ("#team-loading", "#member-table"),
    "/numbers": ("#numbers-loading", "#number-table"),
}


class HeldData:
    """Passes the server's messages on until one marks a state loaded; holds it and the rest."""

    def __init__(self, page: Page) -> None:
        self.held: list[str | bytes] = []
        self.holding = False
        self.routes: list[WebSocketRoute] = []
        page.route_web_socket(re.compile(r"/_event"), self._route)

    def _route(self, socket: WebSocketRoute) -> None:
        self.routes.append(socket)
        server = socket.connect_to_server()
        server.on_message(lambda message: self._from_server(socket, message))

    def _from_server(self, socket: WebSocketRoute, message: str | bytes) -> None:
        if not self.holding and isinstance(message, str) and LOADED.search(message):
            self.holding = True
        if self.holding:
            self.held.append(message)
        else:
            socket.send(message)

    def release(self) -> None:
        self.holding = False
        socket = self.routes[-1]
        for message in self.held:
            socket.send(message)
        self.held.clear()


@pytest.mark.parametrize("path", list(SCREENS))
def test_a_page_shows_its_shapes_until_its_data_arrives(portal, new_page, path):
    page = new_page(width=1280, height=800)
    workspace = signed_in_owner(page, portal, members=1, numbers=1)
    data = HeldData(page)
    shapes, content = SCREENS[path]

    page.goto(portal.url + path)
    expect(page.locator("#workspace-name")).to_have_text(workspace.name)
    loading = page.locator(shapes)
    expect(loading).to_be_visible()
    expect(page.get_by_role("status", name="Loading")).to_be_visible()
    expect(loading).to_have_attribute("aria-busy", "true")
    screenshot(page, "skeleton" + path.replace("/", "-"))

    data.release()
    expect(page.locator(content).first).to_be_visible()
    expect(loading).to_have_count(0)
