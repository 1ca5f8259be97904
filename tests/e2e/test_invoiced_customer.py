"""An invoiced (enterprise) customer in the browser (issues 14 and 15): the demo scenario makes
Acme Dental a `send_invoice` customer through the invoicing service; the owner's billing and
invoices pages show the open invoice with its due date and "Pay by bank transfer" (no card);
past the due date it is past due; "Mark paid (bank transfer)" pays it out of band in the sandbox
and both open tabs show it paid, live, through the webhook (no reload).

Stripe: https://docs.stripe.com/billing/collection-method (send_invoice, due dates),
https://docs.stripe.com/api/invoices/pay (`paid_out_of_band`)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in_as

LIVE_MS = 10_000
SCENARIO_MS = 30_000
DUE = re.compile(r"Due [A-Z][a-z]{2} \d{1,2}, \d{4}")


def _click(page: Page, name: str, message: str) -> None:
    page.locator(f"#demo-{name}").click()
    expect(page.locator("#demo-message")).to_contain_text(message, timeout=SCENARIO_MS)


def test_an_invoiced_customer_pays_by_bank_transfer_and_the_tabs_follow_live(portal, new_page):
    rep, billing, invoices = new_page(), new_page(), new_page()
    for tab in (rep, billing, invoices):
        sign_in_as(tab, portal, "owner")
    rep.goto(portal.url + "/demo")
    expect(rep.locator("#demo-status")).not_to_be_empty(timeout=20_000)

    _click(rep, "invoiced", "invoiced customer")
    message = rep.locator("#demo-message").inner_text()
    due = re.search(r"due ([A-Z][a-z]{2} \d{1,2}, \d{4})", message)
    assert due, message
    expect(rep.locator("#demo-status")).to_contain_text("Invoiced customer", timeout=LIVE_MS)

    billing.goto(portal.url + "/billing")
    expect(billing.locator("#billing-status")).to_have_text("Active", timeout=20_000)
    expect(billing.locator("#card-on-file")).to_contain_text("Pay by bank transfer")
    expect(billing.locator("#card-on-file")).to_contain_text("30 days")
    expect(billing.locator("#replace-card")).to_have_count(0)
    latest = billing.locator("#latest-invoices")
    expect(latest).to_contain_text(f"Due {due.group(1)}", timeout=LIVE_MS)
    expect(latest.get_by_role("link", name=re.compile("^Pay by bank transfer"))).to_be_visible()
    expect(latest.get_by_role("button", name=re.compile("^Pay now"))).to_have_count(0)

    invoices.goto(portal.url + "/invoices")
    table = invoices.locator("#invoice-table")
    expect(table).to_contain_text(DUE, timeout=20_000)
    expect(table).to_contain_text("open")
    expect(table.get_by_role("link", name=re.compile("^Pay by bank transfer"))).to_be_visible()
    expect(table.get_by_role("link", name=re.compile("^Pay now"))).to_have_count(0)
    for tab in (billing, invoices):
        tab.evaluate("window.__same_document = true")

    _click(rep, "advance-past-due-date", "has passed unpaid")
    expect(billing.locator("#billing-status")).to_have_text("Past due", timeout=LIVE_MS)
    banner = billing.locator("#past-due-banner")
    expect(banner).to_contain_text(f"overdue (it was due {due.group(1)})")
    expect(banner).to_contain_text("bank transfer")
    expect(billing.locator("#pay-now")).to_have_count(0)  # no card to retry
    expect(table).to_contain_text("past due", timeout=LIVE_MS)

    _click(rep, "mark-paid", "paid by bank transfer")
    expect(billing.locator("#billing-status")).to_have_text("Active", timeout=LIVE_MS)
    expect(billing.locator("#past-due-banner")).to_have_count(0)
    expect(latest).to_contain_text("paid")
    expect(latest).not_to_contain_text("Pay by bank transfer")
    expect(table).to_contain_text("paid", timeout=LIVE_MS)
    expect(table).not_to_contain_text(DUE)
    for tab in (billing, invoices):
        assert tab.evaluate("window.__same_document === true"), "the page was reloaded"

    # Out of turn, the step is refused with a clear message and nothing changes.
    rep.locator("#demo-mark-paid").click()
    expect(rep.locator("#demo-message")).to_have_text(
        "Acme Dental has no invoice waiting for a bank transfer.", timeout=SCENARIO_MS
    )
    _click(rep, "reset", "seeded trial")
