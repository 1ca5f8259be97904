"""With REDIS_URL set (CI sets TEST_REDIS_URL), Reflex keeps each tab's state in Redis, so that
several backend workers can serve one tab; the whole e2e suite then runs that way."""

import pytest
import redis
from playwright.sync_api import expect

from .conftest import REDIS_URL, sign_in_as

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set (CI sets it)")


def test_tab_state_is_kept_in_redis(portal, page):
    client = redis.Redis.from_url(REDIS_URL)
    sign_in_as(page, portal, "owner")
    page.goto(portal.url + "/pricing")
    page.locator("#interval-year").click()
    expect(page.locator("#subtotal")).to_have_text("$1,470.00 / year")

    token = page.evaluate("window.sessionStorage.getItem('token')")
    keys = [key.decode() for key in client.scan_iter(match=f"{token}*")]
    assert keys, f"no Reflex state in Redis for this tab ({token})"
    # After a reload the tab keeps its choice: the state came back from Redis.
    page.reload()
    expect(page.locator("#subtotal")).to_have_text("$1,470.00 / year")
