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


# Every frame of the page reports what its Content-Security-Policy blocked, in a form we can
# recognise on the console (Chrome also logs its own "Refused to ..." line).
CSP_VIOLATION_PREFIX = "CSP violation:"
_REPORT_CSP_VIOLATIONS = f"""
document.addEventListener("securitypolicyviolation", function (event) {{
  console.error({CSP_VIOLATION_PREFIX!r} + " " + event.effectiveDirective + " blocked "
    + (event.blockedURI || "inline") + " at " + event.sourceFile + ":" + event.lineNumber);
}});
"""


def is_csp_violation(text: str) -> bool:
    return (
        text.startswith(CSP_VIOLATION_PREFIX)
        or text.startswith("Refused to ")
        or "Content Security Policy" in text
    )


class PageErrors:
    """Collects console errors and uncaught page errors; a browser test fails on any.

    With `own_origin`, console errors of other sites' pages (the identity provider's sign-in
    form, say) are not ours to fix and are left out. Content-Security-Policy violations on our
    pages are collected apart: a test cannot allow them.
    """

    def __init__(self, page: Page, own_origin: str | None = None) -> None:
        self.messages: list[str] = []
        self.csp_violations: list[str] = []
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
        page.add_init_script(_REPORT_CSP_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message) -> None:
        if not self._ours(self.page.url):
            return
        line = f"console {message.type}: {message.text} ({self.page.url})"
        if is_csp_violation(message.text):
            self.csp_violations.append(line)
        elif message.type == "error":
            self.messages.append(line)

    def allow(self, fragment: str) -> None:
        """An error this test provokes on purpose (a declined card's 402 from Stripe, say)."""
        self.allowed.append(fragment)

    def _ours(self, url: str) -> bool:
        return self.own_origin is None or url.startswith(self.own_origin)

    def assert_none(self) -> None:
        assert not self.csp_violations, "Content-Security-Policy violations:\n" + "\n".join(
            self.csp_violations
        )
        unexpected = [m for m in self.messages if not any(a in m for a in self.allowed)]
        assert not unexpected, "browser reported errors:\n" + "\n".join(unexpected)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
