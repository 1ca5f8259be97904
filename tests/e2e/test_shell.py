"""The portal's shell, served by the production build, in real Chromium."""

import re

import httpx
from playwright.sync_api import expect

from tests.support.browser import screenshot


def test_shell_renders_workspace_and_navigation(portal, page):
    page.goto(portal.url + "/billing")

    expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()
    expect(page.locator("#workspace-name")).to_have_text("Acme Dental", timeout=15_000)
    navigation = page.get_by_role("navigation", name="Main")
    for label in ("Billing", "Team", "Numbers", "Invoices"):
        expect(navigation.get_by_role("link", name=label)).to_be_visible()
    screenshot(page, "shell-billing")


def test_navigation_moves_between_pages(portal, page):
    page.goto(portal.url + "/billing")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()

    expect(page).to_have_url(re.compile(r"/team/?$"))
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()


def test_healthz_on_the_same_port(portal):
    response = httpx.get(portal.url + "/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
