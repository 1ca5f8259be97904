"""The production profile: two backend workers share Redis (each tab's state) and the database.
Tabs of one workspace are spread over both workers; a change made in a tab on one of them
reaches the tabs on the other within a second, without a reload.

The session's portal runs this way when Redis answers (CI: PostgreSQL + Redis + WORKERS=2).
"""

from __future__ import annotations

import time
import uuid

import psutil
import pytest
from playwright.sync_api import Page, expect

from tests.support.workspaces import sign_in_owner_again, signed_in_owner

from .conftest import REDIS_URL, WORKERS

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set (CI sets it)")
MAX_TABS = 12
REACH_MS = 1_000  # "within a second"


def _workers(portal) -> list[psutil.Process]:
    """The processes that listen on the portal's port (Granian's workers share the socket)."""
    port = int(portal.url.rsplit(":", 1)[1])
    found = []
    for process in psutil.Process(portal.process.pid).children(recursive=True):
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections):
            found.append(process)
    return found


def _connections_per_worker(portal) -> dict[int, int]:
    port = int(portal.url.rsplit(":", 1)[1])
    return {
        worker.pid: sum(
            1
            for c in worker.net_connections(kind="tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
        )
        for worker in _workers(portal)
    }


def _team_page(page: Page, portal, workspace) -> None:
    page.goto(portal.url + "/team")
    expect(page.locator("#workspace-name")).to_have_text(workspace.name, timeout=20_000)
    expect(page.locator("#member-table")).to_be_visible()


def test_the_portal_runs_the_configured_number_of_workers(portal):
    assert len(_workers(portal)) == WORKERS


def test_a_change_through_one_worker_reaches_tabs_on_the_other_within_a_second(portal, new_page):
    first = new_page()
    workspace = signed_in_owner(first, portal, name=f"Two workers {uuid.uuid4().hex[:6]}")
    _team_page(first, portal, workspace)
    tabs = [first]
    # Open tabs until both workers serve some (the kernel spreads new connections over them).
    while len(tabs) < MAX_TABS:
        if all(count >= 2 for count in _connections_per_worker(portal).values()):
            break
        tab = new_page()
        sign_in_owner_again(tab, portal, workspace)
        _team_page(tab, portal, workspace)
        tabs.append(tab)
    spread = _connections_per_worker(portal)
    assert len(spread) == WORKERS and all(spread.values()), f"tabs not on both workers: {spread}"

    email = f"two-workers-{uuid.uuid4().hex[:8]}@acmedental.example"
    for tab in tabs:
        tab.evaluate("window.__same_document = true")
    first.locator("#invite-email").fill(email)
    first.locator("#invite-role").select_option("member")
    first.locator("#invite-submit").click()
    first.get_by_role("alertdialog").get_by_role("button", name="Send invitation").click()
    expect(first.locator(f'#member-table tr[data-email="{email}"]')).to_be_visible()
    sent = time.monotonic()

    for tab in tabs[1:]:
        remaining = max(REACH_MS - (time.monotonic() - sent) * 1000, 1)
        expect(tab.locator(f'#member-table tr[data-email="{email}"]')).to_be_visible(
            timeout=remaining
        )
    assert all(tab.evaluate("window.__same_document === true") for tab in tabs)
