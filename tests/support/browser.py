"""Playwright on the system's Chromium (Playwright cannot download its own browser here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


@contextmanager
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: `make test` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class PageErrors:
    """Collects console errors and uncaught page errors; a browser test fails on any.

    With `own_origin`, console errors of other sites' pages (the identity provider's sign-in
    form, say) are not ours to fix and are left out.
    """

    def __init__(self, page: Page, own_origin: str | None = None) -> None:
        self.messages: list[str] = []
        self.page = page
        self.own_origin = own_origin
        self.allowed: list[str] = []
        page.on("pageerror", lambda error: self.messages.append(f"page error: {error}"))
        page.on(
            "response",
            lambda response: (
                self.messages.append(f"HTTP {response.status}: {response.url}")
                if response.status >= 400 and self._ours(response.url)
                else None
            ),
        )
        page.on(
            "console",
            lambda message: (
                self.messages.append(f"console {message.type}: {message.text} ({page.url})")
                if message.type == "error" and self._ours(page.url)
                else None
            ),
        )

    def allow(self, fragment: str) -> None:
        """An error this test provokes on purpose (a declined card's 402 from Stripe, say)."""
        self.allowed.append(fragment)

    def _ours(self, url: str) -> bool:
        return self.own_origin is None or url.startswith(self.own_origin)

    def assert_none(self) -> None:
        unexpected = [m for m in self.messages if not any(a in m for a in self.allowed)]
        assert not unexpected, "browser reported errors:\n" + "\n".join(unexpected)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
