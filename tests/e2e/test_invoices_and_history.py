"""Invoices and billing history in Chromium: owners only, pagination, PDFs, the monthly chart.

Each test that needs invoices or a clean history gets a fresh workspace of its own (the demo
workspace is shared with other tests, which may upgrade it or add activity).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from clerk_portal.models import utcnow
from tests.support.browser import screenshot
from tests.support.workspaces import seed_activity, seed_invoices, signed_in_owner, subscribe

from .conftest import sign_in_as


def _go(page: Page, portal, path: str, heading: str) -> None:
    page.goto(portal.url + path)
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), "the page scrolls sideways"


def test_a_trial_workspace_has_no_invoices_yet(portal, page):
    signed_in_owner(page, portal)
    _go(page, portal, "/invoices", "Invoices")

    expect(page.locator("#invoices-empty")).to_have_text(
        "No invoices yet: your first invoice appears when you upgrade."
    )
    screenshot(page, "invoices-empty-trial")


def test_invoices_list_newest_first_with_older_ones_on_request(portal, page):
    workspace = signed_in_owner(page, portal)
    seed_invoices(portal, workspace, months=13, now=utcnow())
    _go(page, portal, "/invoices", "Invoices")

    rows = page.locator("#invoice-table tbody tr")
    expect(rows).to_have_count(10)
    newest = rows.first
    expect(newest).to_contain_text(f"E2E-{workspace.id}-0013")
    expect(newest).to_contain_text("$220.00")
    expect(newest).to_contain_text("paid")
    pdf = newest.get_by_role("link", name=re.compile(r"^PDF of invoice "))
    # From the portal's own origin (issue 16), so `download` saves it rather than navigating.
    expect(pdf).to_have_attribute("href", re.compile(r"^/invoices/in_e2e_\d+_0/pdf$"))
    expect(pdf).to_have_attribute("download", "")
    screenshot(page, "invoices-owner")

    page.get_by_role("button", name="Older invoices").click()
    expect(rows).to_have_count(13)
    expect(rows.last).to_contain_text(f"E2E-{workspace.id}-0001")
    expect(page.get_by_role("button", name="Older invoices")).to_have_count(0)


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # stripe-python
def test_an_upgrade_brings_its_paid_invoice_and_a_real_pdf(portal, page):
    workspace = signed_in_owner(page, portal)
    _go(page, portal, "/invoices", "Invoices")
    expect(page.locator("#invoices-empty")).to_be_visible()

    subscribe(portal, workspace, plan="business")

    row = page.locator("#invoice-table tbody tr").first  # the open page updates by itself
    expect(row).to_contain_text("$49.00", timeout=20_000)
    expect(row).to_contain_text("paid")
    pdf = row.get_by_role("link", name=re.compile(r"^PDF of invoice "))
    with page.expect_download() as download:
        pdf.click()
    assert download.value.suggested_filename.startswith("Invoice-")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    screenshot(page, "invoices-subscribed")


def test_history_shows_team_changes_and_the_invoiced_months(portal, page):
    workspace = signed_in_owner(page, portal)
    seed_invoices(portal, workspace, months=3, now=utcnow())
    email = f"h-{uuid.uuid4().hex[:8]}@clinic.example"
    _go(page, portal, "/team", "Team")
    page.locator("#invite-email").fill(email)
    page.locator("#invite-submit").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invited {email} as member.")).to_be_visible()

    _go(page, portal, "/billing/history", "Billing history")

    entry = page.locator("#activity-list li").first
    expect(entry).to_contain_text(f"Invited {email} as member")
    expect(entry).to_contain_text(workspace.owner_name)
    expect(page.locator("#invoiced-total")).to_have_text("$330.00")
    expect(page.locator("#invoiced-chart svg").first).to_be_visible()
    screenshot(page, "history-owner")


def test_history_pages_through_older_activity(portal, page):
    workspace = signed_in_owner(page, portal)
    seed_activity(portal, workspace, count=25)
    _go(page, portal, "/billing/history", "Billing history")

    entries = page.locator("#activity-list li")
    expect(entries).to_have_count(20)
    expect(entries.first).to_contain_text("Seeded entry 25")
    page.get_by_role("button", name="Older activity").click()
    expect(entries).to_have_count(25)
    expect(entries.last).to_contain_text("Seeded entry 1")


def test_members_and_admins_are_told_who_manages_billing(portal, new_page):
    for role in ("member", "admin"):
        page = new_page()
        sign_in_as(page, portal, role)
        for path, heading in (("/invoices", "Invoices"), ("/billing/history", "Billing history")):
            _go(page, portal, path, heading)
            notice = page.locator("#billing-owners-only")
            expect(notice).to_contain_text("Olivia Park")
            expect(page.locator("#invoice-table, #invoices-empty, #activity-list")).to_have_count(0)
            expect(page.locator("main")).not_to_contain_text("$")
        screenshot(page, f"history-{role}")


def test_invoices_and_history_fit_a_phone_screen(portal, new_page):
    page = new_page(375, 740)
    workspace = signed_in_owner(page, portal)
    seed_invoices(portal, workspace, months=4, now=utcnow())
    seed_activity(portal, workspace, count=3)

    _go(page, portal, "/invoices", "Invoices")
    expect(page.locator("#invoice-table tbody tr")).to_have_count(4)
    _no_horizontal_scroll(page)
    screenshot(page, "invoices-owner-375")

    _go(page, portal, "/billing/history", "Billing history")
    expect(page.locator("#activity-list li")).to_have_count(3)
    _no_horizontal_scroll(page)
    screenshot(page, "history-owner-375")
