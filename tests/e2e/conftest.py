from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from clerk_portal.core.settings import get_settings
from tests.support.browser import PageErrors, chromium
from tests.support.oidc import running_provider
from tests.support.portal import start_portal

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("TEST_REDIS_URL")
HERE = Path(__file__).parent
PORTAL_START_SECONDS = 900  # start_portal waits up to 600 s for /healthz, then 60 s for /


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One portal (its frontend is built in this checkout's .web) and one browser for the session,
    # in file order: under xdist (`--dist loadgroup`) every browser test stays on one worker.
    # `make test` runs them in a pytest process of their own, outside xdist.
    browser_items = [item for item in items if item.path.is_relative_to(HERE)]
    for item in browser_items:
        item.add_marker(pytest.mark.xdist_group("e2e"))
    if browser_items:
        # The first browser test also waits for the session's portal (its frontend build: a minute
        # alone, many on a loaded machine, bounded by start_portal's own limit): more room for it.
        first = browser_items[0]
        marker = first.get_closest_marker("timeout")
        limit = marker.args[0] if marker and marker.args else first.config.getini("timeout")
        first.add_marker(
            pytest.mark.timeout(max(float(limit or 0), PORTAL_START_SECONDS)), append=False
        )


@pytest.fixture(scope="session")
def oidc_provider():
    with running_provider() as provider:
        provider.set_user("sam", email="sam@newclinic.example", name="Sam Rivera")
        yield provider


@pytest.fixture(scope="session")
def portal(tmp_path_factory, oidc_provider):
    """`python -m clerk_portal run` in demo mode: migrated, sandbox started, demo seeded, and
    single sign-on through a real OIDC provider."""
    data = tmp_path_factory.mktemp("portal")
    running = start_portal(
        database_url=f"sqlite:///{data / 'portal.db'}",
        log_path=data / "portal.log",
        extra_env={
            # CI: Reflex keeps every tab's state in Redis, as several backend workers would.
            **({"REDIS_URL": REDIS_URL} if REDIS_URL else {}),
            "OIDC_ISSUER": oidc_provider.issuer,
            "OIDC_CLIENT_ID": "clerk-portal-e2e",
            "OIDC_CLIENT_SECRET": "e2e-secret",
        },
    )
    # This process writes into the portal's database too (test data, direct changes): its commits
    # must publish where the portal listens (Redis when the portal has it, else its database).
    saved = os.environ.pop("REDIS_URL", None)
    if REDIS_URL:
        os.environ["REDIS_URL"] = REDIS_URL
    get_settings.cache_clear()
    yield running
    running.stop()
    os.environ.pop("REDIS_URL", None)
    if saved is not None:
        os.environ["REDIS_URL"] = saved
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def new_page(browser, portal):
    """Open as many pages (each its own browser context: its own cookies) as a test needs."""
    contexts, trackers = [], []

    def open_page(width: int = 1280, height: int = 800) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        contexts.append(context)
        trackers.append(PageErrors(page, own_origin=portal.url))
        page.errors = trackers[-1]  # a test may allow an error it provokes on purpose
        return page

    yield open_page
    for context in contexts:
        context.close()
    for tracker in trackers:
        tracker.assert_none()


@pytest.fixture
def page(new_page):
    return new_page()


def sign_in_as(page: Page, portal, role: str) -> None:
    """One-click demo sign-in (the same session machinery as single sign-on)."""
    page.goto(portal.url + "/login")
    page.locator(f"#demo-sign-in-{role}").click()
    expect(page.locator("#user-role")).to_have_text(role, timeout=20_000)
