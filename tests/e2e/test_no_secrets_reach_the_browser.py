"""Nothing secret travels to the browser in state: not the session id, cookies, authorization
headers, Stripe keys or Stripe customer ids. Every websocket frame the page receives is read."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from clerk_portal.auth.sessions import SESSION_COOKIE
from clerk_portal.core.settings import SANDBOX_SECRET_KEY

from .conftest import sign_in_as

FORBIDDEN_PATTERNS = [
    re.compile(r"sk_(test|live)_[A-Za-z0-9]+"),  # Stripe secret keys
    re.compile(r"whsec_[A-Za-z0-9]+"),  # webhook signing secrets
    re.compile(r"cus_[A-Za-z0-9]{6,}"),  # Stripe customer ids
    re.compile(r"\bclerk_session\b"),
    re.compile(r'"(cookie|authorization|proxy_authorization)"\s*:\s*"[^"]+"', re.I),
]


def test_state_sent_during_sign_in_and_billing_use_has_no_secrets(portal, page):
    frames: list[str] = []
    page.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived",
            lambda payload: frames.append(payload if isinstance(payload, str) else ""),
        ),
    )

    sign_in_as(page, portal, "owner")
    for label in ("Team", "Numbers", "Invoices", "Billing"):
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
        expect(page.get_by_role("heading", name=label, level=1)).to_be_visible()

    session_id = next(
        cookie["value"] for cookie in page.context.cookies() if cookie["name"] == SESSION_COOKIE
    )
    received = "\n".join(frames)
    assert len(frames) > 5, "the page received no state over the websocket"
    assert session_id not in received
    assert SANDBOX_SECRET_KEY not in received
    for pattern in FORBIDDEN_PATTERNS:
        assert not pattern.search(received), f"{pattern.pattern} reached the browser"


def test_the_session_cookie_is_invisible_to_scripts(portal, page):
    sign_in_as(page, portal, "owner")

    assert SESSION_COOKIE not in page.evaluate("document.cookie")
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
