"""The demo controls in the browser (issue 15): reset returns every open tab to the seeded trial
live, and each scenario reaches its state (trial ended, past due with Stripe's retries day by day,
then recovered or canceled) through the real services, test clock and webhooks."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in_as
from tests.support.workspaces import add_demo_number, signed_in_owner

LIVE_MS = 10_000
SCENARIO_MS = 30_000  # a scenario runs Stripe calls and waits for nothing; webhooks follow


def _same_document(page: Page) -> None:
    page.evaluate("window.__same_document = true")


def _not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__same_document === true"), "the page was reloaded"


def _open_demo(page: Page, portal) -> None:
    page.goto(portal.url + "/demo")
    expect(page.locator("#demo-status")).not_to_be_empty(timeout=20_000)


def _click(page: Page, name: str, message: str) -> None:
    page.locator(f"#demo-{name}").click()
    expect(page.locator("#demo-message")).to_contain_text(message, timeout=SCENARIO_MS)


def _advance_a_day(page: Page) -> None:
    before = page.locator("#demo-today").inner_text()
    page.locator("#demo-advance-a-day").click()
    expect(page.locator("#demo-today")).not_to_have_text(before, timeout=SCENARIO_MS)
    expect(page.locator("#demo-message")).to_contain_text("A day has passed")


def test_reset_returns_every_open_tab_to_the_seeded_trial(portal, new_page):
    rep, billing, numbers = new_page(), new_page(), new_page()
    sign_in_as(rep, portal, "owner")
    sign_in_as(billing, portal, "owner")
    sign_in_as(numbers, portal, "admin")
    _open_demo(rep, portal)
    _click(rep, "subscribed", "subscribed customer")
    add_demo_number(portal, "+14155550177")

    billing.goto(portal.url + "/billing")
    expect(billing.locator("#billing-status")).to_have_text("Active", timeout=20_000)
    numbers.goto(portal.url + "/numbers")
    expect(numbers.locator('[data-e164="+14155550177"]')).to_be_visible(timeout=20_000)
    for tab in (billing, numbers):
        _same_document(tab)

    rep.locator("#demo-reset").click()
    expect(rep.locator("#demo-message")).to_contain_text(
        re.compile(r"seeded trial .*\(\d+\.\d s\)"), timeout=SCENARIO_MS
    )
    print("reset:", rep.locator("#demo-message").inner_text())

    expect(billing.locator("#trial-banner")).to_contain_text("9 days left", timeout=LIVE_MS)
    expect(billing.locator("#billing-status")).not_to_have_text("Active")
    expect(numbers.locator('[data-e164="+14155550177"]')).to_have_count(0, timeout=LIVE_MS)
    expect(numbers.locator('[data-e164="+14155550123"]')).to_be_visible()
    expect(rep.locator("#demo-status")).to_have_text("On its trial: 9 days left")
    for tab in (billing, numbers):
        _not_reloaded(tab)


def test_the_command_line_reset_reaches_the_open_tabs(portal, new_page):
    """`python -m clerk_portal demo reset` in another process: the open tab follows live."""
    rep, owner = new_page(), new_page()
    sign_in_as(rep, portal, "owner")
    sign_in_as(owner, portal, "owner")
    _open_demo(rep, portal)
    _click(rep, "trial-ended", "trial has ended")
    owner.goto(portal.url + "/team")
    expect(owner.locator("#trial-banner")).to_contain_text("Your trial has ended", timeout=20_000)
    _same_document(owner)

    done = subprocess.run(
        [sys.executable, "-m", "clerk_portal", "demo", "reset"],
        env={
            **os.environ,
            "PORTAL_MODE": "demo",
            "DATABASE_URL": portal.database_url,
            "STRIPE_API_BASE": portal.sandbox_url,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"seeded trial .*\(\d+\.\d\d s\)", done.stdout), done.stdout
    print(done.stdout.strip())

    expect(owner.locator("#trial-banner")).to_contain_text("9 days left", timeout=LIVE_MS)
    expect(rep.locator("#demo-status")).to_have_text("On its trial: 9 days left", timeout=LIVE_MS)
    _not_reloaded(owner)


def test_the_panel_shows_the_personas_and_who_may_do_what(portal, page):
    sign_in_as(page, portal, "member")
    _open_demo(page, portal)
    expect(page.locator("#persona-owner")).to_contain_text("Olivia Park")
    expect(page.locator("#persona-owner")).to_contain_text("billing")
    expect(page.locator("#persona-admin")).to_contain_text("team and the numbers")
    expect(page.locator("#persona-member")).to_contain_text("Mia Chen")


def test_end_the_trial_now_makes_the_workspace_read_only(portal, new_page):
    rep, owner = new_page(), new_page()
    sign_in_as(rep, portal, "owner")
    sign_in_as(owner, portal, "owner")
    owner.goto(portal.url + "/team")
    expect(owner.locator("#trial-banner")).to_contain_text("days left", timeout=20_000)
    _open_demo(rep, portal)

    _click(rep, "trial-ended", "trial has ended")

    expect(owner.locator("#trial-banner")).to_contain_text("Your trial has ended", timeout=LIVE_MS)
    expect(rep.locator("#demo-status")).to_contain_text("Trial ended")
    _click(rep, "reset", "seeded trial")


def test_a_failed_renewal_retries_day_by_day_then_recovers_with_a_new_card(portal, new_page):
    rep, billing = new_page(), new_page()
    sign_in_as(rep, portal, "owner")
    sign_in_as(billing, portal, "owner")
    _open_demo(rep, portal)

    _click(rep, "renewal-fails", "renewal failed")
    expect(rep.locator("#demo-status")).to_contain_text("Past due", timeout=LIVE_MS)
    retries = rep.locator("#demo-retries li")
    expect(retries).to_have_count(5)  # the failure, three retries, the cancellation
    expect(rep.locator('#demo-retries li[data-state="next"]')).to_contain_text("Retry 1")
    expect(rep.locator("#demo-next-retry")).not_to_be_empty()
    billing.goto(portal.url + "/billing")
    expect(billing.locator("#billing-status")).to_have_text("Past due", timeout=LIVE_MS)

    for _day in range(3):  # the first retry runs on the third day (and fails)
        _advance_a_day(rep)
    expect(rep.locator('#demo-retries li[data-state="next"]')).to_contain_text(
        "Retry 2", timeout=LIVE_MS
    )

    _click(rep, "recover", "settled")
    expect(rep.locator("#demo-status")).to_contain_text("Subscribed", timeout=LIVE_MS)
    expect(billing.locator("#billing-status")).to_have_text("Active", timeout=LIVE_MS)
    _click(rep, "reset", "seeded trial")


def test_a_failed_renewal_is_canceled_after_the_last_retry(portal, new_page):
    rep, billing = new_page(), new_page()
    sign_in_as(rep, portal, "owner")
    sign_in_as(billing, portal, "owner")
    _open_demo(rep, portal)
    _click(rep, "renewal-fails", "renewal failed")
    billing.goto(portal.url + "/billing")

    for _day in range(8):
        _advance_a_day(rep)

    expect(rep.locator("#demo-status")).to_contain_text("Canceled", timeout=LIVE_MS)
    expect(billing.locator("#billing-status")).to_have_text("Canceled", timeout=LIVE_MS)
    _click(rep, "reset", "seeded trial")


def test_another_workspace_cannot_use_the_demo_controls(portal, page):
    signed_in_owner(page, portal)
    page.goto(portal.url + "/demo")
    expect(page.locator("#demo-message")).to_contain_text("act on Acme Dental", timeout=20_000)
    page.locator("#demo-reset").click()
    expect(page.locator("#demo-message")).to_contain_text("act on Acme Dental")
