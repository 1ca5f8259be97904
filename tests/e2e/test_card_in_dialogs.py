"""The bank's 3-D Secure dialog inside the portal's own dialogs (issue 16): a Radix modal sets
`pointer-events: none` on the body and traps focus and Esc, so the bank's dialog, drawn outside
it, could be neither clicked nor dismissed. It is completed and failed by clicking here, and Esc
cancels it without closing the card dialog under it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support.browser import screenshot
from tests.support.workspaces import enter_card, signed_in_owner

SUCCESS = "4242 4242 4242 4242"
THREE_D_SECURE = "4000 0027 6000 3184"
AUTHENTICATION_FAILED = "We are unable to authenticate your payment method"


def _bank(page: Page):
    return page.get_by_role("dialog", name="3D Secure authentication")


def _ask_the_bank(page: Page) -> None:
    enter_card(page, THREE_D_SECURE, element="#card-element-billing")
    page.locator("#submit-card").click()
    expect(_bank(page)).to_be_visible(timeout=20_000)


def test_replace_the_card_with_3d_secure_inside_the_dialog(portal, page):
    page.errors.allow("402 (Payment Required)")  # Stripe.js logs the failed authentication
    workspace = signed_in_owner(page, portal, members=1, numbers=1)
    page.goto(portal.url + "/billing/upgrade")
    expect(page.locator("#workspace-name")).to_have_text(workspace.name, timeout=20_000)
    page.locator("#plan-business").click()
    enter_card(page, SUCCESS)
    page.locator("#confirm-upgrade").click()
    expect(page.locator("#card-on-file")).to_contain_text("•••• 4242", timeout=20_000)
    card_dialog = page.get_by_role("dialog", name="Replace your card")

    # Failed by clicking: the card dialog stays, says why, and the old card stays.
    page.locator("#replace-card").click()
    _ask_the_bank(page)
    screenshot(page, "card-dialog-3ds-challenge")
    _bank(page).get_by_role("button", name="Fail authentication").click(timeout=5_000)
    expect(_bank(page)).to_have_count(0)
    expect(card_dialog.locator("#card-error")).to_contain_text(AUTHENTICATION_FAILED)
    expect(page.locator("#card-on-file")).to_contain_text("•••• 4242")

    # Esc cancels the bank's dialog (a failed authentication), not the card dialog under it.
    _ask_the_bank(page)
    page.keyboard.press("Escape")
    expect(_bank(page)).to_have_count(0)
    expect(card_dialog).to_be_visible()
    expect(card_dialog.locator("#card-error")).to_contain_text(AUTHENTICATION_FAILED)

    # Completed by clicking: the new card is the default and the dialog closes.
    _ask_the_bank(page)
    _bank(page).get_by_role("button", name="Complete authentication").click(timeout=5_000)
    expect(card_dialog).to_have_count(0, timeout=20_000)
    expect(page.locator("#card-on-file")).to_contain_text("•••• 3184", timeout=20_000)

    # The page is a page again: the dialog gave the body its pointer events back.
    page.locator("#replace-card").click(timeout=5_000)
    expect(card_dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(card_dialog).to_have_count(0)
    expect(page.locator("body")).not_to_have_css("pointer-events", re.compile("none"))
