"""Issue 10, bug 1: a plan-change confirmation is bound to what the owner reviewed.

In Chromium, as the owner does it: a new selection removes the old review and its Confirm; the
new review's amount is exactly what Stripe (the sandbox) then charges. Over the real websocket,
as a script can do it: a stale or missing token charges nothing.
"""

from __future__ import annotations

import re

import httpx
import stripe
from playwright.sync_api import expect
from sqlmodel import Session, select

from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import SANDBOX_SECRET_KEY
from clerk_portal.models import BillingActivity
from clerk_portal.pages.billing.upgrade import UpgradeState
from clerk_portal.workspace import repository
from tests.support.reflex_socket import ReflexSocket, Reply
from tests.support.workspaces import fresh_owner_cookie, signed_in_owner, subscribe

UPGRADE = "/billing/upgrade"


def _account(portal, workspace_id: int):
    with Session(engine_for(portal.database_url)) as session:
        return repository.get_billing_account(session, workspace_id=workspace_id)


def _upgrades(portal, workspace_id: int) -> list[BillingActivity]:
    with Session(engine_for(portal.database_url)) as session:
        return list(
            session.exec(
                select(BillingActivity).where(
                    BillingActivity.workspace_id == workspace_id,
                    BillingActivity.kind == "plan_upgrade",
                )
            )
        )


def _update_invoices(portal, subscription_id: str) -> list:
    client = stripe.StripeClient(SANDBOX_SECRET_KEY, base_addresses={"api": portal.sandbox_url})
    invoices = client.v1.invoices.list({"subscription": subscription_id, "limit": 100}).data
    return [invoice for invoice in invoices if invoice.billing_reason == "subscription_update"]


def _cents(label: str) -> int:
    return int(label.replace("$", "").replace(",", "").replace(".", ""))


def test_a_new_selection_needs_a_new_review_and_confirm_charges_the_reviewed_amount(portal, page):
    workspace = signed_in_owner(page, portal, members=2, numbers=2)
    subscribe(portal, workspace)  # Business monthly
    subscription_id = _account(portal, workspace.id).stripe_subscription_id
    page.goto(portal.url + "/billing")
    expect(page.locator("#billing-status")).to_have_text("Active", timeout=20_000)

    page.goto(portal.url + UPGRADE)
    expect(page.get_by_text("Business · monthly")).to_be_visible(timeout=20_000)
    page.locator("#plan-startup").click()
    page.locator("#review-change").click()
    summary = page.locator("#change-summary")
    expect(summary).to_contain_text("Nothing changes until then.")
    expect(page.locator("#confirm-change")).to_be_enabled()

    page.locator("#plan-business").click()
    page.locator("#interval-year").click()
    expect(summary).to_have_count(0)  # the Startup review is gone, and so is its Confirm
    expect(page.locator("#confirm-change")).to_be_disabled()
    assert _update_invoices(portal, subscription_id) == []

    page.locator("#review-change").click()
    expect(summary).to_contain_text("due today, then $1,470.00/year")
    shown = re.match(r"(\$[\d,]+\.\d\d) due today", summary.inner_text().strip())
    assert shown, summary.inner_text()
    page.locator("#confirm-change").click()

    expect(page.locator("#plan-label")).to_have_text("Business · yearly", timeout=20_000)
    charged = _update_invoices(portal, subscription_id)
    assert [invoice.amount_paid for invoice in charged] == [_cents(shown.group(1))]
    assert [row.amount_cents for row in _upgrades(portal, workspace.id)] == [_cents(shown.group(1))]


def _subscription_writes(portal, subscription_id: str) -> int:
    log = httpx.get(portal.sandbox_url + "/_sandbox/requests").json()["data"]
    return sum(
        1
        for entry in log
        if entry["method"] == "POST" and entry["path"] == f"/v1/subscriptions/{subscription_id}"
    )


def test_confirm_with_a_stale_or_missing_token_charges_nothing(portal):
    workspace, cookie = fresh_owner_cookie(portal)
    subscribe(portal, workspace)
    subscription_id = _account(portal, workspace.id).stripe_subscription_id
    state = UpgradeState.get_full_name()
    socket = ReflexSocket(portal.url, cookie=cookie)
    try:
        socket.call(f"{state}.load_upgrade", path=UPGRADE)
        socket.call(f"{state}.select_plan", {"plan": "startup"}, path=UPGRADE)
        reviewed = socket.call(
            f"{state}.review_change", path=UPGRADE, until=lambda r: r.var("working") is False
        ).changed_vars(state)
        tokens = [value for name, value in reviewed.items() if "confirm_token" in name] or [""]
        socket.call(f"{state}.select_plan", {"plan": "business"}, path=UPGRADE)
        socket.call(f"{state}.select_interval", {"interval": "year"}, path=UPGRADE)
        writes = _subscription_writes(portal, subscription_id)

        stale = socket.call(
            f"{state}.confirm_change", {"token": tokens[-1]}, path=UPGRADE, until=Reply.toasts
        )
        forged = socket.call(f"{state}.confirm_change", {}, path=UPGRADE, until=Reply.toasts)
    finally:
        socket.close()

    assert _subscription_writes(portal, subscription_id) == writes
    assert _update_invoices(portal, subscription_id) == []
    assert _upgrades(portal, workspace.id) == []
    account = _account(portal, workspace.id)
    assert (account.plan, account.interval, account.pending_plan) == ("business", "month", None)
    assert tokens[-1], f"the review handed the tab no token: {reviewed}"
    assert any("no longer current" in toast for toast in stale.toasts()), stale
    assert any("no longer current" in toast for toast in forged.toasts()), forged


def test_a_promotion_code_in_a_plan_change_is_reviewed_and_billed(portal, page):
    """Issue 14: the code is entered beside the plan change, as at upgrade; the line items and
    the review show what Stripe takes off, and Confirm bills exactly that, discount on the
    invoice (https://docs.stripe.com/api/subscriptions/update#update_subscription-discounts)."""
    workspace = signed_in_owner(page, portal, members=2, numbers=2)
    subscribe(portal, workspace)  # Business monthly
    subscription_id = _account(portal, workspace.id).stripe_subscription_id
    page.goto(portal.url + UPGRADE)
    expect(page.get_by_text("Business · monthly")).to_be_visible(timeout=20_000)
    page.locator("#interval-year").click()

    page.locator("#promo-code").fill("nope")
    page.locator("#apply-promo").click()
    expect(page.locator("#promo-error")).to_have_text("NOPE is not a valid promotion code.")
    expect(page.locator("#confirm-change")).to_be_disabled()

    page.locator("#promo-code").fill("launch20")
    page.locator("#promo-code").press("Enter")
    expect(page.locator("#promo-applied")).to_have_text("LAUNCH20: 20% off the first invoice")
    discount = page.locator("#promo-discount").inner_text()
    expect(page.locator("#line-discount")).to_have_text(discount)
    summary = page.locator("#change-summary")
    expect(summary).to_contain_text(f"LAUNCH20 takes {discount.lstrip('−')} off")
    expect(summary).to_contain_text("then $1,470.00/year")
    shown = re.match(r"(\$[\d,]+\.\d\d) due today", summary.inner_text().strip())
    assert shown, summary.inner_text()

    # Review again: the code stays with the choice it was checked for, the amount too.
    page.locator("#review-change").click()
    expect(summary).to_contain_text(f"{shown.group(1)} due today (LAUNCH20 takes")
    page.locator("#confirm-change").click()

    expect(page.locator("#plan-label")).to_have_text("Business · yearly", timeout=20_000)
    (charged,) = _update_invoices(portal, subscription_id)
    assert charged.amount_paid == _cents(shown.group(1))
    assert [d.amount for d in charged.total_discount_amounts] == [_cents(discount.lstrip("−"))]
    expect(page.locator("#latest-invoices")).to_contain_text(shown.group(1))
