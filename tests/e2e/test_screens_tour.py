"""Every owner screen at 1280 and 375 px, on trial and after a month of a paid subscription:
each fits the width (no sideways scroll) and is saved as a screenshot (var/test-artifacts/, or
`SCREENSHOTS_DIR` with the `SCREENSHOTS_PREFIX` given, to compare before and after a change)."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.browser import screenshot
from tests.support.workspaces import sign_in_owner_again, signed_in_owner, subscribe

SCREENS = {
    "billing": ("/billing", "#plan-label"),
    "upgrade": ("/billing/upgrade", "h1"),
    "invoices": ("/invoices", "h1"),
    "history": ("/billing/history", "h1"),
    "team": ("/team", "h1"),
    "numbers": ("/numbers", "h1"),
}


def _save(page: Page, name: str) -> None:
    directory = os.environ.get("SCREENSHOTS_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        prefix = os.environ.get("SCREENSHOTS_PREFIX", "")
        page.screenshot(path=str(Path(directory) / f"{prefix}{name}.png"), full_page=True)
    else:
        screenshot(page, f"tour-{name}")


def _tour(page: Page, portal, state: str, width: int) -> None:
    for name, (path, ready) in SCREENS.items():
        page.goto(portal.url + path)
        expect(page.locator(ready).first).to_be_visible(timeout=20_000)
        page.wait_for_timeout(700)  # live data and fonts settle
        fits = page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
        _save(page, f"{state}-{name}-{width}")
        assert fits, f"{path} scrolls sideways at {width} px"


def test_every_owner_screen_on_trial_and_subscribed_at_laptop_and_phone_widths(portal, new_page):
    wide = new_page(width=1280, height=800)
    workspace = signed_in_owner(wide, portal, members=2, numbers=2)
    narrow = new_page(width=375, height=800)
    sign_in_owner_again(narrow, portal, workspace)
    for page, width in ((wide, 1280), (narrow, 375)):
        _tour(page, portal, "trial", width)

    subscribe(portal, workspace, plan="business")
    wide.goto(portal.url + "/billing")
    expect(wide.locator("#billing-status")).to_have_text("Active", timeout=20_000)
    wide.locator("#advance-month").click()  # the renewal invoice arrives by webhook
    expect(wide.locator("#latest-invoices").get_by_text("paid")).to_have_count(2, timeout=30_000)
    for page, width in ((wide, 1280), (narrow, 375)):
        _tour(page, portal, "subscribed", width)
