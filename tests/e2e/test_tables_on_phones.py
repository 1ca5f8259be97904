"""Team, numbers and invoices at 375 px (issue 16): each row is a card, so Remove, Release and
PDF are on the screen, not past the right edge of a table that scrolls in its own box."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, expect

from tests.support.browser import screenshot
from tests.support.workspaces import signed_in_owner, subscribe

PHONE = 375
# What a card shows before each cell: its data-label, drawn by CSS (not in the text content).
_LABELS = """(row) => [...row.children].map(
  (cell) => getComputedStyle(cell, "::before").content.replace(/^"|"$/g, ""))"""


def _on_screen(control: Locator) -> None:
    expect(control).to_be_visible()
    expect(control).to_be_in_viewport(ratio=1)
    box = control.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE, box


def test_row_actions_stay_on_a_phone_screen(portal, new_page):
    page = new_page(width=PHONE, height=800)
    workspace = signed_in_owner(page, portal, members=2, numbers=2)
    subscribe(portal, workspace, plan="business")

    page.goto(portal.url + "/team")
    remove = page.get_by_role("button", name=re.compile(r"^Remove "))
    expect(remove.first).to_be_visible(timeout=20_000)
    _on_screen(remove.first)
    card = page.locator("#member-table tbody tr").first
    assert "Role" in card.evaluate(_LABELS)
    screenshot(page, "team-cards-375")

    page.goto(portal.url + "/numbers")
    release = page.get_by_role("button", name=re.compile(r"^Release "))
    expect(release.first).to_be_visible(timeout=20_000)
    _on_screen(release.first)
    screenshot(page, "numbers-cards-375")

    page.goto(portal.url + "/invoices")
    pdf = page.get_by_role("link", name=re.compile(r"^PDF of invoice "))
    expect(pdf.first).to_be_visible(timeout=20_000)
    _on_screen(pdf.first)
    row = page.locator("#invoice-table tbody tr").first
    assert "Period" in row.evaluate(_LABELS)  # a card shows the period a narrow table hides
    expect(row.locator("[data-label=Period]")).to_be_visible()
    screenshot(page, "invoices-cards-375")
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
