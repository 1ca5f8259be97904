from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.engine import make_url

from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from tests.support.browser import PageErrors, chromium
from tests.support.oidc import running_provider
from tests.support.portal import start_portal

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("TEST_REDIS_URL")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
WORKERS = 2  # with Redis: the session's portal runs two backend workers
HERE = Path(__file__).parent
PORTAL_START_SECONDS = 900  # start_portal waits up to 600 s for /healthz, then 60 s for /
# These tests check what people see, not how fast (tests/benchmarks/ measures that): under
# `make test` the browser tests share two cores with the integration workers, and a page load with
# its websocket and on_load chain has taken over Playwright's default 5 s there (CI: the h1 of
# /team and /invoices for a member). Each expectation waits up to 15 s for what must appear.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One portal (its frontend is built in this checkout's .web) and one browser for the session,
    # in file order: under xdist (`--dist loadgroup`) every browser test stays on one worker.
    # `make test` runs them in a pytest process of their own, outside xdist.
    browser_items = [item for item in items if item.path.is_relative_to(HERE)]
    for item in browser_items:
        item.add_marker(pytest.mark.xdist_group("e2e"))
    # The first test that uses the session's portal also waits for it to start (its frontend
    # build: a minute alone, many on a loaded machine, bounded by start_portal's own limit): more
    # room for that one. Not simply the first browser test: some need no portal (CI once timed
    # out the second, which built it).
    first = next((item for item in browser_items if "portal" in item.fixturenames), None)
    if first is not None:
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


def portal_environment(oidc_provider) -> dict[str, str]:
    """What the session's portal runs with (a test restarting it passes the same)."""
    return {
        **({"REDIS_URL": REDIS_URL, "WORKERS": str(WORKERS)} if REDIS_URL else {}),
        "OIDC_ISSUER": oidc_provider.issuer,
        "OIDC_CLIENT_ID": "clerk-portal-e2e",
        "OIDC_CLIENT_SECRET": "e2e-secret",
    }


@contextmanager
def _portal_database(data: Path) -> Iterator[str]:
    """SQLite by default; in CI (TEST_POSTGRES_URL) a PostgreSQL schema of its own, dropped after:
    the production profile, PostgreSQL + Redis + two backend workers."""
    if not POSTGRES_URL:
        yield f"sqlite:///{data / 'portal.db'}"
        return
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(admin_url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = admin_url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def portal(tmp_path_factory, oidc_provider):
    """`python -m clerk_portal run` in demo mode: migrated, sandbox started, demo seeded, and
    single sign-on through a real OIDC provider. In CI: on PostgreSQL, with Redis and two
    backend workers (each tab's state in Redis; a tab's events may reach either worker)."""
    data = tmp_path_factory.mktemp("portal")
    with _portal_database(data) as database_url:
        running = start_portal(
            database_url=database_url,
            log_path=data / "portal.log",
            extra_env=portal_environment(oidc_provider),
        )
        # This process writes into the portal's database too (test data, direct changes): its
        # commits must publish where the portal listens (Redis when the portal has it, else its
        # database).
        saved = os.environ.pop("REDIS_URL", None)
        if REDIS_URL:
            os.environ["REDIS_URL"] = REDIS_URL
        get_settings.cache_clear()
        try:
            yield running
        finally:
            running.stop()
            engine_for(database_url).dispose()
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
