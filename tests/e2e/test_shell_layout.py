"""The shell's layout in Chromium: a left sidebar with the trial message in its bottom-left corner
on a laptop, a collapsible top bar and a slim trial bar on a phone; nothing ever covers content.

Issue 16: the trial message floated over the page (on /billing it covered the City, Postal code
and Tax ID fields and the Save button at 1280 px) and the navigation wrapped onto three lines on a
phone.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import screenshot
from tests.support.workspaces import signed_in_member, signed_in_owner

from .conftest import sign_in_as

LAPTOP = (1280, 800)
PHONE = (375, 740)
# What a person can click or type into, in the page's content (not the shell's own controls).
CONTROLS = "main input, main button, main select, main textarea, main a[href]"

# Each control is scrolled to the top, the middle and the bottom of the viewport in turn (a
# floating message covers what passes under it at some scroll position), and its box is compared
# with the trial message's at that position.
_COVERED_CONTROLS = """
([message, controls]) => {
  const banner = document.querySelector(message);
  if (!banner) return ["no trial message on the page"];
  const overlap = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const covered = [];
  for (const control of document.querySelectorAll(controls)) {
    const own = control.getBoundingClientRect();
    if (own.width === 0 || own.height === 0) continue;  // not rendered
    for (const block of ["start", "center", "end"]) {
      control.scrollIntoView({block, inline: "nearest", behavior: "instant"});
      if (overlap(control.getBoundingClientRect(), banner.getBoundingClientRect())) {
        const name = control.id || control.name || control.textContent.trim().slice(0, 40);
        covered.push(`${control.tagName.toLowerCase()} ${name} (scrolled to ${block})`);
        break;
      }
    }
  }
  window.scrollTo(0, 0);
  return covered;
}
"""


def _covered_controls(page: Page) -> list[str]:
    return page.evaluate(_COVERED_CONTROLS, ["#trial-banner", CONTROLS])


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), "the page scrolls sideways"


def _go(page: Page, portal, path: str, heading: str) -> None:
    page.goto(portal.url + path)
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


def _billing_with_its_form(page: Page, portal) -> None:
    _go(page, portal, "/billing", "Billing")
    expect(page.locator("#save-details")).to_be_visible()
    expect(page.locator("#trial-banner")).to_contain_text("Your trial account is active")


def test_the_trial_message_sits_in_the_sidebars_bottom_left_corner_and_covers_nothing(
    portal, new_page
):
    page = new_page(*LAPTOP)
    signed_in_owner(page, portal)
    _billing_with_its_form(page, portal)

    sidebar = page.locator("#sidebar")
    banner = sidebar.locator("#trial-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("days left")
    expect(banner.get_by_role("link", name="Upgrade your account")).to_have_attribute(
        "href", "/billing/upgrade"
    )
    side, message = sidebar.bounding_box(), banner.bounding_box()
    height = LAPTOP[1]
    assert side["x"] == 0 and side["width"] <= 300, side  # a left column, not the page
    assert side["height"] >= height - 1, side  # the whole height of the window
    assert message["x"] < 40 and message["x"] + message["width"] <= side["width"], message
    assert message["y"] + message["height"] >= height - 40, message  # at the bottom
    main = page.locator("main").bounding_box()
    assert main["x"] >= side["width"], (main, side)  # the content starts right of it

    screenshot(page, "shell-billing-owner-1280")


def test_the_trial_message_covers_no_field_or_button_of_the_billing_page(portal, new_page):
    page = new_page(*LAPTOP)
    signed_in_owner(page, portal)
    _billing_with_its_form(page, portal)

    assert _covered_controls(page) == []


def test_the_sidebar_stays_put_while_the_content_scrolls(portal, new_page):
    page = new_page(*LAPTOP)
    signed_in_owner(page, portal)
    _billing_with_its_form(page, portal)

    page.locator("#save-details").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 0
    message = page.locator("#trial-banner").bounding_box()
    assert message["y"] + message["height"] >= LAPTOP[1] - 40, message
    expect(page.locator("#workspace-name")).to_be_in_viewport()


@pytest.mark.parametrize(
    ("role", "links"),
    [
        ("owner", ["Billing", "Team", "Numbers", "Invoices", "History"]),
        ("admin", ["Billing", "Team", "Numbers"]),
        ("member", ["Billing"]),
    ],
)
def test_each_role_sees_only_the_links_it_may_use(portal, page, role, links):
    sign_in_as(page, portal, role)

    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link")).to_have_text(links)
    expect(page.locator("#sidebar #user-name")).to_be_visible()
    expect(page.locator("#sidebar #sign-out")).to_be_visible()


def test_the_current_page_is_marked_in_the_navigation(portal, page):
    signed_in_owner(page, portal)
    _go(page, portal, "/team", "Team")

    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Team")).to_have_attribute("aria-current", "page")
    expect(navigation.get_by_role("link", name="Billing")).not_to_have_attribute(
        "aria-current", "page"
    )


def test_people_who_cannot_upgrade_are_told_who_can(portal, new_page):
    owner_page, page = new_page(), new_page(*LAPTOP)
    workspace = signed_in_owner(owner_page, portal)
    signed_in_member(page, portal, workspace, role="admin")
    _go(page, portal, "/team", "Team")

    banner = page.locator("#sidebar #trial-banner")
    expect(banner).to_contain_text("Your trial account is active")
    expect(banner).to_contain_text(f"Ask {workspace.owner_name} to upgrade")
    expect(banner.get_by_role("link")).to_have_count(0)


@pytest.mark.parametrize("path", ["/billing", "/team", "/billing/upgrade"])
def test_on_a_phone_nothing_scrolls_sideways_and_the_trial_bar_covers_nothing(
    portal, new_page, path
):
    page = new_page(*PHONE)
    signed_in_owner(page, portal)
    heading = {"/billing": "Billing", "/team": "Team", "/billing/upgrade": "Upgrade your account"}
    _go(page, portal, path, heading[path])
    if path == "/billing":
        expect(page.locator("#save-details")).to_be_visible()

    bar = page.locator("#trial-banner")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("Your trial account is active")
    assert bar.bounding_box()["height"] <= 72, "the trial bar is not slim"
    _no_horizontal_scroll(page)
    assert _covered_controls(page) == []


def test_on_a_phone_the_navigation_opens_and_closes_with_the_menu_button(portal, new_page):
    page = new_page(*PHONE)
    signed_in_owner(page, portal)
    _go(page, portal, "/billing", "Billing")
    menu = page.get_by_role("button", name="Menu")
    team = page.get_by_role("navigation", name="Main").get_by_role("link", name="Team")

    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(team).to_be_hidden()  # collapsed: one line of shell, not three of links
    shell = page.locator("#sidebar").bounding_box()
    bar = page.locator("#trial-banner").bounding_box()
    assert shell["height"] - bar["height"] <= 72, shell  # one line: the workspace and the button
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(team).to_be_visible()
    expect(page.locator("#sign-out")).to_be_visible()
    _no_horizontal_scroll(page)
    screenshot(page, "shell-menu-open-owner-375")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(team).to_be_hidden()


def test_on_a_phone_the_navigation_works_with_the_keyboard(portal, new_page):
    page = new_page(*PHONE)
    signed_in_owner(page, portal)
    _go(page, portal, "/billing", "Billing")
    menu = page.get_by_role("button", name="Menu")
    panel_id = menu.get_attribute("aria-controls")
    assert panel_id, "the menu button names the panel it opens"

    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.locator(f"#{panel_id}")).to_be_visible()
    # The next stop of Tab is inside the opened panel.
    page.keyboard.press("Tab")
    assert page.evaluate(f"document.getElementById({panel_id!r}).contains(document.activeElement)")
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()

    page.keyboard.press("Space")
    expect(menu).to_have_attribute("aria-expanded", "true")
    team = page.get_by_role("navigation", name="Main").get_by_role("link", name="Team")
    team.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")


@pytest.mark.parametrize("role", ["owner", "member"])
def test_screenshots_of_the_shell(portal, new_page, role):
    for width, height in (LAPTOP, PHONE):
        page = new_page(width, height)
        if role == "owner":
            signed_in_owner(page, portal)
        else:
            sign_in_as(page, portal, "member")
        for path in ("/billing", "/team", "/billing/upgrade"):
            page.goto(portal.url + path)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            expect(page.locator("#trial-banner")).to_be_visible()
            _no_horizontal_scroll(page)
            name = path.strip("/").replace("/", "-")
            screenshot(page, f"shell-{name}-{role}-{width}")
