"""The portal's shell and sign-in, served by the production build, in real Chromium."""

import re

import httpx
from playwright.sync_api import expect

from tests.support.browser import screenshot

from .conftest import sign_in_as


def test_signed_out_visitors_are_sent_to_sign_in(portal, page):
    page.goto(portal.url + "/billing")

    expect(page).to_have_url(re.compile(r"/login\?next=%2Fbilling"))
    expect(page.get_by_role("heading", name="Sign in to Clerk Chat")).to_be_visible()
    screenshot(page, "login")


def test_owner_sees_the_shell_with_workspace_and_navigation(portal, page):
    sign_in_as(page, portal, "owner")

    expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()
    expect(page.locator("#workspace-name")).to_have_text("Acme Dental")
    expect(page.locator("#user-name")).to_have_text("Olivia Park")
    navigation = page.get_by_role("navigation", name="Main")
    for label in ("Billing", "Team", "Numbers", "Invoices"):
        expect(navigation.get_by_role("link", name=label)).to_be_visible()
    expect(page.locator("#plan-label")).to_have_text("Free trial")
    screenshot(page, "shell-billing-owner")


def test_navigation_moves_between_pages(portal, page):
    sign_in_as(page, portal, "owner")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()

    expect(page).to_have_url(re.compile(r"/team/?$"))
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()


def test_members_are_told_who_manages_billing(portal, page):
    sign_in_as(page, portal, "member")

    notice = page.locator("#billing-owners-only")
    expect(notice).to_contain_text("Billing is managed by the workspace owner(s)")
    expect(notice).to_contain_text("Olivia Park")
    expect(page.locator("#plan-label")).to_have_count(0)
    screenshot(page, "billing-member")


def test_sign_out_ends_the_session(portal, page):
    sign_in_as(page, portal, "admin")
    page.locator("#sign-out").click()

    expect(page.locator("#login-notice")).to_have_text("You have signed out.")
    page.goto(portal.url + "/billing")
    expect(page).to_have_url(re.compile(r"/login"))


def test_healthz_on_the_same_port(portal):
    response = httpx.get(portal.url + "/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_single_sign_on_through_the_identity_provider(portal, page):
    page.goto(portal.url + "/billing")
    page.locator("#sso-sign-in").click()

    # The provider's own sign-in form (oidc-provider-mock), then back to the portal.
    page.locator("input[name=sub]").fill("sam")
    page.get_by_role("button", name="Authorize").click()

    expect(page).to_have_url(re.compile(r"/billing/?$"), timeout=20_000)
    expect(page.locator("#user-name")).to_have_text("Sam Rivera")
    expect(page.locator("#user-role")).to_have_text("owner")
    expect(page.locator("#workspace-name")).to_have_text("Sam Rivera's workspace")


def test_each_role_lands_on_what_it_uses_first(portal, new_page):
    """Owners on billing, admins on the team, members on the page naming the owners."""
    for role, path, heading in (
        ("owner", "/billing", "Billing"),
        ("admin", "/team", "Team"),
        ("member", "/billing", "Billing"),
    ):
        page = new_page()
        sign_in_as(page, portal, role)

        expect(page).to_have_url(re.compile(rf"{path}/?$"))
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        if role == "member":
            expect(page.locator("#billing-owners-only")).to_contain_text("Olivia Park")
