"""What an owner does to billing, in Chromium, against the sandbox: upgrade (and the cards that
decline or need 3-D Secure), invoices and their PDF, a new card, cancel and resume, live tabs."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.support.browser import screenshot
from tests.support.workspaces import enter_card, sign_in_owner_again, signed_in_owner

SUCCESS = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
THREE_D_SECURE = "4000 0027 6000 3184"


def open_as(page, portal, workspace, path: str) -> None:
    page.goto(portal.url + path)
    expect(page.locator("#workspace-name")).to_have_text(workspace.name, timeout=20_000)


def upgrade(page, portal, workspace, card: str, *, yearly: bool = False, plan: str = "business"):
    open_as(page, portal, workspace, "/billing/upgrade")
    page.locator(f"#plan-{plan}").click()
    if yearly:
        page.locator("#interval-year").click()
    expect(page.locator("#card-element-upgrade").get_by_label("Card number")).to_be_visible()
    enter_card(page, card)
    page.locator("#confirm-upgrade").click()


def test_upgrade_to_yearly_business_with_a_good_card(portal, page):
    workspace = signed_in_owner(page, portal, members=4, numbers=4)  # 5 seats, 4 numbers
    open_as(page, portal, workspace, "/billing/upgrade")
    page.locator("#interval-year").click()
    # The worked example: 5 × $490.00 + 1 × $80.00.
    expect(page.locator("#due-today")).to_have_text("$2,530.00")
    screenshot(page, "upgrade")

    enter_card(page, SUCCESS)
    page.locator("#confirm-upgrade").click()

    expect(page).to_have_url(re.compile(r"/billing/?$"), timeout=20_000)
    expect(page.locator("#billing-status")).to_have_text("Active")
    expect(page.locator("#plan-label")).to_have_text("Business · yearly")
    expect(page.locator("#card-on-file")).to_contain_text("•••• 4242")
    expect(page.locator("#trial-banner")).to_have_count(0)
    invoices = page.locator("#latest-invoices")
    expect(invoices).to_contain_text("$2,530.00")
    expect(invoices).to_contain_text("paid")
    pdf_url = invoices.get_by_role("link", name=re.compile("^PDF of invoice ")).first.get_attribute(
        "href"
    )
    assert page.request.get(portal.url + pdf_url).body().startswith(b"%PDF")
    screenshot(page, "billing-active")


def test_a_declined_card_says_why_and_charges_nothing(portal, page):
    workspace = signed_in_owner(page, portal, members=2, numbers=1)
    page.errors.allow("402 (Payment Required)")  # Stripe.js logs the declined request
    upgrade(page, portal, workspace, DECLINED)

    expect(page.locator("#upgrade-error")).to_contain_text("declined", timeout=20_000)
    page.goto(portal.url + "/billing")
    expect(page.locator("#billing-status")).to_have_text("Trialing")
    expect(page.locator("#card-on-file")).to_contain_text("No card")
    # The attempt's first invoice was voided with its subscription: nothing paid, nothing owed.
    invoices = page.locator("#latest-invoices")
    expect(invoices).to_contain_text("void")
    expect(invoices).not_to_contain_text("paid")
    expect(invoices).not_to_contain_text("open")


def test_after_a_declined_card_another_card_on_the_same_page_pays_once(portal, page):
    workspace = signed_in_owner(page, portal, members=1, numbers=1)
    page.errors.allow("402 (Payment Required)")  # Stripe.js logs the declined request
    upgrade(page, portal, workspace, DECLINED, plan="startup")
    expect(page.locator("#upgrade-error")).to_contain_text("declined", timeout=20_000)

    enter_card(page, SUCCESS)
    page.locator("#confirm-upgrade").click()

    expect(page).to_have_url(re.compile(r"/billing/?$"), timeout=20_000)
    expect(page.locator("#billing-status")).to_have_text("Active")
    expect(page.locator("#card-on-file")).to_contain_text("•••• 4242")
    invoices = page.locator("#latest-invoices")
    expect(invoices).to_contain_text("paid")
    expect(invoices).to_contain_text("void")  # the declined attempt's, never payable
    expect(invoices).not_to_contain_text("open")


def test_a_3d_secure_card_is_confirmed_in_the_browser_once(portal, page):
    # 4000 0027 6000 3184 asks for authentication on every payment
    # (https://docs.stripe.com/testing#regulatory-cards): the upgrade pays its first invoice with
    # the card in the browser, so the bank's page shows once, not to save the card and then again.
    workspace = signed_in_owner(page, portal, members=2, numbers=1)
    upgrade(page, portal, workspace, THREE_D_SECURE)

    bank = page.get_by_role("button", name="Complete authentication")
    bank.click()
    expect(page).to_have_url(re.compile(r"/billing/?$"), timeout=20_000)
    expect(bank).to_have_count(0)
    expect(page.locator("#billing-status")).to_have_text("Active")
    expect(page.locator("#card-on-file")).to_contain_text("•••• 3184")


def test_replace_the_card(portal, page):
    workspace = signed_in_owner(page, portal, members=2, numbers=1)
    upgrade(page, portal, workspace, SUCCESS)
    expect(page.locator("#card-on-file")).to_contain_text("•••• 4242", timeout=20_000)

    page.locator("#replace-card").click()
    enter_card(page, "5555 5555 5555 4444", element="#card-element-billing")
    page.locator("#submit-card").click()

    expect(page.locator("#card-on-file")).to_contain_text("•••• 4444", timeout=20_000)


def test_cancel_at_period_end_then_resume(portal, page):
    workspace = signed_in_owner(page, portal, members=2, numbers=1)
    upgrade(page, portal, workspace, SUCCESS)
    expect(page.locator("#billing-status")).to_have_text("Active", timeout=20_000)

    page.locator("#cancel-subscription").click()
    page.get_by_role("dialog").get_by_text("It's too expensive").click()
    page.locator("#cancel-comment").fill("Budget cuts this quarter")
    page.locator("#confirm-cancel").click()

    expect(page.locator("#cancel-notice")).to_contain_text("Your subscription ends on")
    screenshot(page, "billing-canceling")
    page.locator("#resume").click()
    expect(page.locator("#cancel-notice")).to_have_count(0)
    expect(page.locator("#cancel-subscription")).to_be_visible()


def test_billing_tabs_update_live_without_reload(portal, new_page):
    first = new_page()
    workspace = signed_in_owner(first, portal, members=2, numbers=1)
    upgrade(first, portal, workspace, SUCCESS)
    expect(first.locator("#billing-status")).to_have_text("Active", timeout=20_000)
    second = new_page()
    sign_in_owner_again(second, portal, workspace)
    open_as(second, portal, workspace, "/billing")
    expect(second.locator("#latest-invoices").get_by_text("paid")).to_have_count(1)

    # A change made in the first tab reaches the second without a reload.
    first.locator("#cancel-subscription").click()
    first.get_by_role("dialog").get_by_text("We don't use it enough").click()
    started = time.perf_counter()
    first.locator("#confirm-cancel").click()
    expect(second.locator("#cancel-notice")).to_be_visible(timeout=5_000)
    print(
        f"\nchange in one tab → shown in another: {1000 * (time.perf_counter() - started):.0f} ms"
    )
    first.locator("#resume").click()
    expect(second.locator("#cancel-notice")).to_have_count(0, timeout=5_000)

    # A month passes (the sandbox's test clock): the renewal invoice arrives by webhook.
    first.locator("#advance-month").click()
    expect(second.locator("#latest-invoices").get_by_text("paid")).to_have_count(2, timeout=20_000)


def test_billing_details_are_validated_and_saved(portal, page):
    workspace = signed_in_owner(page, portal, members=2, numbers=1)
    open_as(page, portal, workspace, "/billing")
    page.get_by_label("Billing email").fill("accounts@clinic.example")
    page.get_by_label("Address line 1").fill("1 Main St")
    page.locator("#save-details").click()
    expect(page.locator("#details-error")).to_contain_text("country")

    page.get_by_label("Country").select_option("US")
    page.get_by_label("Tax id type").select_option("us_ein")
    page.get_by_label("Tax id", exact=True).fill("123456789")
    page.locator("#save-details").click()
    expect(page.locator("#details-error")).to_contain_text(
        "That is not a valid US Employer Identification Number (for example 12-3456789)."
    )
    page.get_by_label("Tax id", exact=True).fill("12-3456789")
    page.get_by_label("PO number").fill("PO-7731")
    page.locator("#save-details").click()
    expect(page.locator("#details-error")).to_have_count(0)
    page.reload()
    expect(page.get_by_label("Country")).to_have_value("US", timeout=10_000)
    expect(page.get_by_label("Tax id type")).to_have_value("us_ein")
    expect(page.get_by_label("Tax id", exact=True)).to_have_value("12-3456789")
    expect(page.get_by_label("PO number")).to_have_value("PO-7731")


def test_billing_pages_fit_a_phone_screen(portal, new_page):
    page = new_page(width=375, height=800)
    workspace = signed_in_owner(page, portal, members=2, numbers=1)
    for path, ready in (("/billing", "#plan-label"), ("/billing/upgrade", "#due-today")):
        open_as(page, portal, workspace, path)
        expect(page.locator(ready)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        screenshot(page, f"{path.strip('/').replace('/', '-')}-375")


def test_an_owner_demoted_elsewhere_stops_seeing_billing_without_a_reload(portal, page):
    from sqlmodel import Session

    from clerk_portal.core.db import engine_for
    from clerk_portal.workspace import live, repository

    workspace = signed_in_owner(page, portal)
    open_as(page, portal, workspace, "/billing")
    expect(page.locator("#plan-label")).to_have_text("Free trial")

    # Another owner demotes this one (the team page in another browser, say).
    with Session(engine_for(portal.database_url)) as session:
        repository.add_member(
            session,
            workspace_id=workspace.id,
            email="second-owner@clinic.example",
            role="owner",
            user_id=repository.upsert_user(
                session,
                issuer="e2e",
                subject=f"second-{workspace.id}",
                email="second-owner@clinic.example",
                name="Second Owner",
            ).id,
        )
        mine = next(
            m
            for m in repository.list_members(session, workspace_id=workspace.id)
            if m.user_id == workspace.owner_user_id
        )
        repository.change_role(
            session, workspace_id=workspace.id, membership_id=mine.id, role="member"
        )
        live.touch(session, workspace_id=workspace.id)
        session.commit()

    expect(page.locator("#billing-owners-only")).to_be_visible(timeout=10_000)
    expect(page.locator("#plan-label")).to_have_count(0)


def test_after_a_failed_renewal_ends_in_cancelation_the_owner_can_subscribe_pay_or_void(
    portal, page
):
    """Issue 10, bug 8: the canceled overview said "You are on the free trial: 0 days left" and
    its open invoice had no action."""
    workspace = signed_in_owner(page, portal)
    upgrade(page, portal, workspace, SUCCESS, plan="startup")
    expect(page.locator("#billing-status")).to_have_text("Active", timeout=20_000)
    page.locator("#replace-card").click()
    enter_card(page, "4000 0000 0000 0341", element="#card-element-billing")  # charges fail
    page.locator("#submit-card").click()
    expect(page.locator("#card-on-file")).to_contain_text("•••• 0341", timeout=20_000)

    page.locator("#advance-month").click()  # the renewal fails
    expect(page.locator("#billing-status")).to_have_text("Past due", timeout=20_000)
    page.locator("#advance-month").click()  # the retries fail too: Stripe cancels
    expect(page.locator("#billing-status")).to_have_text("Canceled", timeout=20_000)

    status = page.locator("#trial-status")
    expect(status).to_contain_text(
        re.compile(r"^Your subscription was canceled on \w+ \d+, \d{4} after a failed payment\.")
    )
    expect(status).not_to_contain_text("free trial")
    expect(page.get_by_role("link", name="Subscribe again")).to_be_visible()
    invoices = page.locator("#latest-invoices")
    expect(invoices.get_by_role("button", name=re.compile("^Pay now: invoice "))).to_be_visible()
    screenshot(page, "billing-canceled-after-failed-payment")
    invoices.get_by_role("button", name=re.compile("^Void invoice ")).click()
    expect(invoices.get_by_text("void", exact=True)).to_be_visible(timeout=20_000)
    expect(invoices.get_by_role("button", name=re.compile("^Pay now: invoice "))).to_have_count(0)
