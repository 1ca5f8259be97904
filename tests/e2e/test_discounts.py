"""A promotion code at upgrade and the retention offer of the cancel dialog, in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.test_billing_flows import SUCCESS, open_as, upgrade
from tests.support.browser import screenshot
from tests.support.workspaces import enter_card, signed_in_owner


def test_a_promotion_code_takes_its_discount_off_what_is_charged(portal, page):
    workspace = signed_in_owner(page, portal, members=2, numbers=1)  # 3 seats
    open_as(page, portal, workspace, "/billing/upgrade")
    page.locator("#plan-startup").click()
    expect(page.locator("#due-today")).to_have_text("$87.00")
    page.locator("#promo-code").fill("nope")
    page.locator("#apply-promo").click()
    expect(page.locator("#promo-error")).to_have_text("NOPE is not a valid promotion code.")

    page.locator("#promo-code").fill("launch20")
    page.locator("#promo-code").press("Enter")
    expect(page.locator("#promo-applied")).to_have_text("LAUNCH20: 20% off the first invoice")
    expect(page.locator("#promo-discount")).to_have_text("−$17.40")
    expect(page.locator("#confirm-upgrade")).to_have_text("Upgrade and pay $69.60")
    # the line items say the same as the button: the discount under the subtotal, then due today
    expect(page.locator("#line-discount")).to_have_text("−$17.40")
    expect(page.locator("#due-today")).to_have_text("$69.60")
    expect(page.locator("#subtotal")).to_contain_text("$87.00")
    screenshot(page, "upgrade-promotion-code")

    # A new choice drops the code (it was checked for Startup monthly)...
    page.locator("#interval-year").click()
    expect(page.locator("#promo-error")).to_have_text("Your choice changed: apply the code again.")
    expect(page.locator("#promo-applied")).to_have_count(0)
    expect(page.locator("#line-discount")).to_have_count(0)
    expect(page.locator("#due-today")).to_have_text("$870.00")  # Startup yearly, no code
    page.locator("#interval-month").click()
    page.locator("#apply-promo").click()
    expect(page.locator("#promo-applied")).to_be_visible()

    enter_card(page, SUCCESS)
    page.locator("#confirm-upgrade").click()
    expect(page).to_have_url(re.compile(r"/billing/?$"), timeout=20_000)
    expect(page.locator("#billing-status")).to_have_text("Active")
    expect(page.locator("#latest-invoices")).to_contain_text("$69.60")


def test_the_cancel_dialog_offers_a_discount_to_stay(portal, page):
    workspace = signed_in_owner(page, portal, members=1)
    upgrade(page, portal, workspace, SUCCESS, plan="startup")
    expect(page.locator("#billing-status")).to_have_text("Active", timeout=20_000)

    page.locator("#cancel-subscription").click()
    offer = page.locator("#retention-offer")
    expect(offer).to_contain_text("25% off for 3 months")
    screenshot(page, "cancel-retention-offer")
    page.locator("#accept-retention").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_text("Thank you for staying")).to_be_visible()
    expect(page.locator("#billing-status")).to_have_text("Active")
    expect(page.locator("#cancel-notice")).to_have_count(0)

    page.locator("#cancel-subscription").click()  # once per workspace
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.locator("#retention-offer")).to_have_count(0)
