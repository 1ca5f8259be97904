"""The shell (trial message, role, navigation) follows the workspace live in every open tab.

A change in one tab (an upgrade, a role change on the team page) reaches another tab of the
workspace within seconds, whatever page it shows, without a reload or a navigation.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.workspaces import (
    enter_card,
    sign_in_owner_again,
    signed_in_member,
    signed_in_owner,
)

LIVE_MS = 5_000  # "within a few seconds"


def _open(page: Page, portal, path: str, workspace) -> None:
    page.goto(portal.url + path)
    expect(page.locator("#workspace-name")).to_have_text(workspace.name, timeout=20_000)
    page.evaluate("window.__same_document = true")  # gone after any reload


def _still_the_same_document(page: Page, portal, path: str) -> None:
    assert page.url.rstrip("/") == (portal.url + path).rstrip("/")
    assert page.evaluate("window.__same_document === true"), "the page was reloaded"


def _navigation(page: Page):
    return page.get_by_role("navigation", name="Main")


@pytest.mark.parametrize("path", ["/team", "/billing", "/billing/upgrade"])
def test_an_upgrade_in_one_tab_removes_the_trial_message_in_another(portal, new_page, path):
    watching, upgrading = new_page(), new_page()
    workspace = signed_in_owner(watching, portal, members=1, numbers=1)
    sign_in_owner_again(upgrading, portal, workspace)
    _open(watching, portal, path, workspace)
    expect(watching.locator("#trial-banner")).to_contain_text("Your trial account is active")

    _open(upgrading, portal, "/billing/upgrade", workspace)
    upgrading.locator("#plan-business").click()
    enter_card(upgrading, "4242 4242 4242 4242")
    upgrading.locator("#confirm-upgrade").click()
    # The subscription opened, the first payment confirmed in the browser, Stripe read again and
    # the redirect: under CI's load that took over 20 s once (the page was still on its way).
    expect(upgrading.locator("#billing-status")).to_have_text("Active", timeout=45_000)

    expect(watching.locator("#trial-banner")).to_have_count(0, timeout=LIVE_MS)
    _still_the_same_document(watching, portal, path)


def test_a_demoted_admin_loses_the_team_link_live(portal, new_page):
    owner, admin = new_page(), new_page()
    workspace = signed_in_owner(owner, portal)
    email = signed_in_member(admin, portal, workspace, role="admin")
    _open(admin, portal, "/billing", workspace)
    expect(admin.locator("#user-role")).to_have_text("admin")
    expect(_navigation(admin).get_by_role("link", name="Team")).to_be_visible()
    expect(admin.locator("#trial-upgrade")).to_have_count(0)  # only owners upgrade

    _open(owner, portal, "/team", workspace)
    owner.get_by_label(f"Role of {email}").select_option("member")
    expect(owner.get_by_text(f"Changed {email} from admin to member.")).to_be_visible()

    expect(admin.locator("#user-role")).to_have_text("member", timeout=LIVE_MS)
    expect(_navigation(admin).get_by_role("link", name="Team")).to_have_count(0)
    expect(_navigation(admin).get_by_role("link", name="Billing")).to_be_visible()
    _still_the_same_document(admin, portal, "/billing")


def test_a_member_made_admin_gets_the_team_link_and_the_number_form_live(portal, new_page):
    owner, member = new_page(), new_page()
    workspace = signed_in_owner(owner, portal)
    email = signed_in_member(member, portal, workspace, role="member")
    _open(member, portal, "/numbers", workspace)
    expect(member.locator("#numbers-read-only")).to_be_visible()
    expect(_navigation(member).get_by_role("link", name="Team")).to_have_count(0)

    _open(owner, portal, "/team", workspace)
    owner.get_by_label(f"Role of {email}").select_option("admin")
    expect(owner.get_by_text(f"Changed {email} from member to admin.")).to_be_visible()

    expect(member.locator("#user-role")).to_have_text("admin", timeout=LIVE_MS)
    expect(_navigation(member).get_by_role("link", name="Team")).to_be_visible()
    expect(member.locator("#number-input")).to_be_visible()
    _still_the_same_document(member, portal, "/numbers")


def test_an_owner_made_owner_elsewhere_sees_billing_live(portal, new_page):
    owner, admin = new_page(), new_page()
    workspace = signed_in_owner(owner, portal)
    email = signed_in_member(admin, portal, workspace, role="admin")
    _open(admin, portal, "/billing", workspace)
    expect(admin.locator("#billing-owners-only")).to_be_visible()

    _open(owner, portal, "/team", workspace)
    owner.get_by_label(f"Role of {email}").select_option("owner")
    expect(owner.get_by_text(f"Changed {email} from admin to owner.")).to_be_visible()

    expect(admin.locator("#plan-label")).to_have_text("Free trial", timeout=LIVE_MS)
    expect(admin.locator("#trial-upgrade")).to_be_visible()
    expect(_navigation(admin).get_by_role("link", name=re.compile("^Invoices$"))).to_be_visible()
    _still_the_same_document(admin, portal, "/billing")
