"""Sales quotes in Chromium: a rep (the demo's Sam Rivera) builds a quote with a discount on
/sales; an anonymous prospect opens the share link, downloads the PDF, signs up through the
identity provider, accepts and lands on an active subscription at the quoted price; the quote
then reads accepted and cannot be accepted again; an expired quote is refused; the sales page
refuses anyone but staff."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from clerk_portal.core.db import engine_for
from clerk_portal.models import Quote
from tests.e2e.conftest import sign_in_as
from tests.support.browser import screenshot
from tests.support.workspaces import enter_card

# Business monthly, 5 seats x $49 + 1 extra number (4, 3 included) x $8 = $253.00; 20% off
# for 3 months: $50.60 off the first invoice, $202.40 charged.
SUBTOTAL, DISCOUNT, FIRST = "$253.00", "−$50.60", "$202.40"


def _rep_builds_a_quote(page: Page, portal, company: str, email: str) -> str:
    page.goto(portal.url + "/login")
    page.locator("#demo-sign-in-sales").click()
    expect(page).to_have_url(re.compile(r"/sales/?$"), timeout=20_000)
    expect(page.locator("#rep-name")).to_have_text("Sam Rivera")

    page.locator("#quote-seats").fill("2.5")  # checked as typed, nothing sent to Stripe
    expect(page.locator("#quote-seats-error")).to_contain_text("whole number")
    expect(page.locator("#create-quote")).to_be_disabled()
    page.locator("#quote-seats").fill("5")
    expect(page.locator("#quote-seats-error")).to_have_count(0)
    page.locator("#quote-numbers").fill("4")
    expect(page.locator("#quote-preview")).to_have_text(f"{SUBTOTAL} / month before any discount")
    page.locator("#quote-company").fill(company)
    page.locator("#quote-email").fill("not-an-email")
    expect(page.locator("#quote-problem")).to_contain_text("not an email address")
    page.locator("#quote-email").fill(email)
    page.locator("#quote-discount").fill("20%")
    page.locator("#quote-discount-duration").select_option("repeating")
    page.locator("#quote-discount-months").fill("3")
    expect(page.locator("#quote-problem")).to_have_count(0)
    page.locator("#create-quote").click()

    link = page.locator("#quote-link")
    expect(link).to_be_visible(timeout=20_000)
    expect(page.locator("#quote-list")).to_contain_text(company)
    expect(page.locator("#quote-list")).to_contain_text(FIRST)
    screenshot(page, "sales-quote-created")
    href = link.get_attribute("href")
    assert href and re.search(r"/quote/[A-Za-z0-9_-]{32}$", href), href
    return href


def test_a_prospect_accepts_a_discounted_quote(portal, new_page, oidc_provider):
    rep = new_page()
    subject = f"prospect-{uuid.uuid4().hex[:8]}"
    email = f"{subject}@brightsmiles.example"
    link = _rep_builds_a_quote(rep, portal, "Bright Smiles", email)

    prospect = new_page()  # its own context: no cookies, nobody signed in
    prospect.goto(link)
    expect(prospect.locator("#quote-title")).to_contain_text("Quote QT-")
    expect(prospect.locator("#quote-subtotal")).to_have_text(SUBTOTAL)
    expect(prospect.locator("#quote-discount")).to_have_text(DISCOUNT)
    expect(prospect.locator("#quote-first")).to_have_text(FIRST)
    expect(prospect.locator("#quote-recurring")).to_have_text(SUBTOTAL)
    expect(prospect.locator("#quote-per-year")).to_have_text("$3,036.00")
    expect(prospect.locator("#quote-included")).to_contain_text("3 phone numbers included")
    expect(prospect.locator("#quote-valid-until")).not_to_be_empty()
    screenshot(prospect, "quote-share-link")

    with prospect.expect_download() as download:
        prospect.locator("#quote-pdf").click()
    pdf = download.value
    assert pdf.url.startswith(portal.url + "/quotes/")  # the portal's own origin
    raw = Path(pdf.path()).read_bytes()
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(raw)).pages)
    number = prospect.locator("#quote-title").inner_text().removeprefix("Quote ").strip()
    for expected in (number, "Bright Smiles", SUBTOTAL, "-$50.60", FIRST, "Valid until"):
        assert expected in text, expected

    # Accept and start: sign up at the identity provider, back on the quote, then the card.
    oidc_provider.set_user(subject, email=email, name="Dana Lee", email_verified=True)
    prospect.locator("#sign-in-to-accept").click()
    prospect.locator("input[name=sub]").fill(subject)
    prospect.get_by_role("button", name="Authorize").click()
    expect(prospect).to_have_url(re.compile(r"/quote/"), timeout=20_000)
    enter_card(prospect, "4242424242424242", element="#card-element-quote")
    expect(prospect.locator("#accept-quote")).to_have_text(f"Accept and start: pay {FIRST}")
    started = time.monotonic()
    prospect.locator("#accept-quote").click()
    expect(prospect).to_have_url(re.compile(r"/billing/?$"), timeout=30_000)
    expect(prospect.locator("#billing-status")).to_have_text("Active")
    print(f"accept: {time.monotonic() - started:.2f} s from the click to the billing page")
    expect(prospect.locator("#latest-invoices")).to_contain_text(FIRST)
    screenshot(prospect, "quote-accepted-billing")

    # The quote now reads accepted, in this tab and any other: no second acceptance.
    for tab in (prospect, new_page()):
        tab.goto(link)
        expect(tab.locator("#quote-refusal")).to_have_text("This quote has already been accepted.")
        expect(tab.locator("#accept-quote")).to_have_count(0)
        expect(tab.locator("#sign-in-to-accept")).to_have_count(0)
    rep.reload()
    expect(rep.locator("#quote-list")).to_contain_text("accepted")


def test_expired_and_withdrawn_quotes_are_refused_and_an_unknown_link_is_not_found(
    portal, new_page
):
    rep = new_page()
    link = _rep_builds_a_quote(rep, portal, "Late Dental", "late@latedental.example")
    token = link.rsplit("/", 1)[1]
    with Session(engine_for(portal.database_url)) as session:  # its validity ran out
        row = session.exec(select(Quote).where(Quote.token == token)).one()
        row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add(row)
        session.commit()

    prospect = new_page()
    prospect.goto(link)
    expect(prospect.locator("#quote-refusal")).to_contain_text("This quote expired on")
    expect(prospect.locator("#sign-in-to-accept")).to_have_count(0)
    expect(prospect.locator("#accept-quote")).to_have_count(0)

    # a rep withdraws another one: its link says so
    second = _rep_builds_a_quote(rep, portal, "Gone Dental", "gone@gonedental.example")
    row = rep.locator("#quote-list tbody tr", has_text="Gone Dental")
    row.get_by_role("button", name=re.compile(r"^Withdraw quote QT-")).click()
    expect(row).to_contain_text("canceled")
    expect(row.get_by_role("button")).to_have_count(0)
    prospect.goto(second)
    expect(prospect.locator("#quote-refusal")).to_contain_text("This quote was withdrawn")
    expect(prospect.locator("#sign-in-to-accept")).to_have_count(0)

    prospect.goto(portal.url + "/quote/" + "x" * 32)
    expect(prospect.locator("#quote-title")).to_have_text("Quote not found")
    expect(prospect.locator("#quote-missing")).to_contain_text("does not exist")


def test_the_sales_page_refuses_anyone_but_staff(portal, new_page):
    owner = new_page()
    sign_in_as(owner, portal, "owner")
    owner.goto(portal.url + "/sales")
    expect(owner.locator("#sales-refused")).to_contain_text("Only Clerk Chat sales staff")
    expect(owner.locator("#create-quote")).to_have_count(0)

    anonymous = new_page()
    anonymous.goto(portal.url + "/sales")
    expect(anonymous).to_have_url(re.compile(r"/login"))
