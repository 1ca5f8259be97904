"""Issue 11, low: security headers on every page, file and route of the running portal
(`reflex run --env prod --single-port`), and a Content-Security-Policy the pages live with."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.e2e.conftest import sign_in_as

pytestmark = pytest.mark.e2e

PAGES = ["/", "/login", "/billing", "/billing/upgrade", "/team", "/pricing", "/no-such-page"]
ROUTES = [
    ("GET", "/healthz"),
    ("GET", "/auth/login"),
    ("GET", "/auth/callback?code=x&state=y"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/demo"),
    ("POST", "/stripe/webhook"),
    ("GET", "/_event/?EIO=4&transport=polling"),
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def _check(response: httpx.Response) -> dict[str, str]:
    where = f"{response.request.method} {response.request.url} ({response.status_code})"
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    directives = dict(
        [*part.split(" ", 1), ""][:2] for part in (p.strip() for p in csp.split(";")) if part
    )
    assert directives.get("frame-ancestors") == "'none'", where
    assert "'unsafe-inline'" not in directives.get("script-src", ""), where
    assert directives.get("object-src") == "'none'", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin", where
    assert "camera=()" in headers.get("permissions-policy", ""), where
    assert "strict-transport-security" not in headers, f"{where}: HSTS only over https"
    return directives


@pytest.fixture(scope="module")
def http(portal):
    with httpx.Client(base_url=portal.url, timeout=30, follow_redirects=False) as client:
        yield client


def test_every_page_and_redirect_carries_the_headers(http):
    for path in PAGES:
        _check(http.get(path))
        _check(http.get(path, follow_redirects=True))


def test_static_files_carry_the_headers(http):
    page = http.get("/login/", follow_redirects=True).text
    assets = sorted(set(re.findall(r'(?:href|src)="(/assets/[^"]+)"', page)))
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for path in [*assets[:8], "/card_form.js", "/favicon.ico"]:
        response = http.get(path)
        assert response.status_code == 200, path
        _check(response)


def test_backend_routes_carry_the_headers(http):
    for method, path in ROUTES:
        _check(http.request(method, path))


def test_the_policy_allows_exactly_the_inline_scripts_of_the_compiled_pages(http, portal):
    for path in PAGES:
        response = http.get(path, follow_redirects=True)
        script_src = _check(response)["script-src"].split()
        for body in INLINE_SCRIPT.findall(response.text):
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in script_src, f"{path}: inline script not allowed"
    connect = _check(http.get("/login/"))["connect-src"].split()
    assert portal.url.replace("http://", "ws://") in connect, "the websocket stays allowed"
    assert portal.sandbox_url in connect, "the demo Stripe stand-in is reachable"


def test_the_browser_blocks_an_injected_script_and_reports_the_violation(page, portal):
    page.goto(portal.url + "/login")
    page.locator("#demo-sign-in-owner").wait_for()
    ran = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener(
                "securitypolicyviolation", () => resolve(false), {once: true});
            const tag = document.createElement("script");
            tag.textContent = "window.__injected = true";
            document.head.appendChild(tag);
            setTimeout(() => resolve(window.__injected === true), 2000);
        })"""
    )
    assert ran is False, "an injected inline script ran"
    assert any("script-src" in v for v in page.errors.csp_violations), page.errors.csp_violations
    page.errors.csp_violations.clear()  # provoked on purpose; any other violation fails the test


@contextmanager
def framing_site(target: str):
    """Another site on this machine (Chrome refuses local frames in pages it deems public)."""
    body = f'<html><body><iframe src="{target}"></iframe></body></html>'.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_no_other_site_can_frame_the_portal(browser, portal):
    context = browser.new_context()
    try:
        framing = context.new_page()
        with framing_site(portal.url + "/login/") as other_site:
            framing.goto(other_site)  # waits for the frame's load too
            frame = framing.frames[-1]
            assert frame is not framing.main_frame
            text = frame.evaluate("document.body ? document.body.innerText : ''")
        assert "Sign in to Clerk Chat" not in text, "the portal rendered in a frame"
    finally:
        context.close()


def test_signed_in_pages_and_the_websocket_work_under_the_policy(page, portal):
    sign_in_as(page, portal, "owner")  # the role comes over the websocket
    page.goto(portal.url + "/billing/upgrade")
    page.locator("#user-role").wait_for()
    # The fixture fails the test on any CSP violation or console error on these pages.
