"""The renewal notice on the billing page (issue 14, 6): Stripe's `invoice.upcoming` a few days
before the renewal shows "Your renewal on … will be …" in every open tab, live; it stays through
the hour the renewal invoice is a draft and goes once Stripe has charged it."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from clerk_portal.core import formats
from tests.support.workspaces import (
    move_clock_around_renewal,
    sign_in_owner_again,
    signed_in_owner,
    subscribe,
)

LIVE_MS = 15_000  # the clock's webhooks, then the mirror's change reaching the open tabs
DAY, HOUR = 86400, 3600


def _open_billing(page: Page, portal) -> None:
    page.goto(portal.url + "/billing")
    expect(page.locator("#billing-status")).to_have_text("Active", timeout=20_000)
    page.evaluate("window.__same_document = true")  # gone after any reload


def test_the_renewal_notice_appears_live_and_goes_once_the_renewal_is_paid(portal, new_page):
    first, second = new_page(), new_page()
    workspace = signed_in_owner(first, portal, members=1)
    subscribe(portal, workspace)
    sign_in_owner_again(second, portal, workspace)
    for tab in (first, second):
        _open_billing(tab, portal)
    expect(first.locator("#renewal-notice")).to_have_count(0)

    renewal, cents = move_clock_around_renewal(portal, workspace, offset=-2 * DAY)
    when = formats.day(datetime.fromtimestamp(renewal, UTC))
    notice = f"Your renewal on {when} will be {formats.money(cents)}"
    for tab in (first, second):
        expect(tab.locator("#renewal-notice")).to_have_text(notice, timeout=LIVE_MS)

    move_clock_around_renewal(portal, workspace, offset=HOUR + 60)  # drafted, then charged
    for tab in (first, second):
        expect(tab.locator("#renewal-notice")).to_have_count(0, timeout=LIVE_MS)
        expect(tab.locator("#latest-invoices").get_by_text("paid")).to_have_count(2)
        assert tab.evaluate("window.__same_document === true"), "the page was reloaded"
