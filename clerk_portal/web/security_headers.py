"""Security headers on every HTTP response of the portal: pages, static files and API routes.

Installed as the last api_transformer, so it wraps the whole backend app, including the compiled
frontend that `reflex run --env prod --single-port` mounts.

The Content-Security-Policy, and why each source is there:
- script-src: our own files, the inline scripts of the compiled pages by their SHA-256 (read from
  the build, so a script injected into a page would not run), Stripe.js (js.stripe.com, or the
  demo sandbox's stand-in) and 'unsafe-eval', because Reflex runs rx.call_script and event
  callbacks with eval() (the card form is driven that way).
- style-src 'unsafe-inline': Radix/emotion insert <style> elements at run time and the Stripe
  stand-in styles its fields inline; styles cannot run code.
- connect-src: our origin over http(s) and ws(s) (Reflex's websocket), and the Stripe API.
- frame-src: Stripe's frames (Elements, 3-D Secure via hooks.stripe.com); the demo stand-in uses
  none. frame-ancestors 'none': no site may frame the portal (clickjacking).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clerk_portal.core.settings import Settings, get_settings

# Stripe's documented CSP sources for Stripe.js, Elements and 3-D Secure.
STRIPE_SCRIPT_SOURCES = ("https://js.stripe.com", "https://*.js.stripe.com")
STRIPE_FRAME_SOURCES = (
    "https://js.stripe.com",
    "https://*.js.stripe.com",
    "https://hooks.stripe.com",
)
STRIPE_CONNECT_SOURCES = ("https://api.stripe.com",)
HSTS = "max-age=63072000; includeSubDomains"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "usb=(), payment=(self)"
)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _websocket(origin: str) -> str:
    return origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def frontend_build_dir() -> Path:
    from reflex.utils import prerequisites
    from reflex_base import constants

    return prerequisites.get_web_dir() / constants.Dirs.STATIC


def inline_script_hashes(build_dir: Path) -> tuple[str, ...]:
    """'sha256-…' of every inline script of the compiled pages (they differ per page)."""
    hashes: set[str] = set()
    for page in sorted(build_dir.rglob("*.html")) if build_dir.is_dir() else ():
        for body in _INLINE_SCRIPT.findall(page.read_bytes()):
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            hashes.add(f"'sha256-{digest}'")
    return tuple(sorted(hashes))


def content_security_policy(settings: Settings, script_hashes: tuple[str, ...] = ()) -> str:
    own = list(dict.fromkeys([settings.portal_url, *settings.cors_origins]))
    # `make dev`: the pages come from the dev server, the websocket and routes from the backend.
    from clerk_portal.core.routes import backend_url

    own += [o for o in [_origin(backend_url("/"))] if o and o not in own]
    stripe_js = _origin(settings.stripe_js)
    stripe_api = _origin(settings.stripe_api_base_url) or STRIPE_CONNECT_SOURCES[0]
    real_stripe = stripe_js == STRIPE_SCRIPT_SOURCES[0]
    scripts = STRIPE_SCRIPT_SOURCES if real_stripe else (stripe_js,)
    frames = STRIPE_FRAME_SOURCES if real_stripe else (stripe_js,)
    connect = [stripe_api, *(STRIPE_CONNECT_SOURCES if real_stripe else ())]
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes, "'unsafe-eval'", *scripts],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *([stripe_api] if not real_stripe else ())],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *own, *map(_websocket, own), *connect],
        "frame-src": list(frames),
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *own],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    return "; ".join(
        f"{name} {' '.join(dict.fromkeys(s for s in sources if s))}"
        for name, sources in directives.items()
    )


def security_headers(
    settings: Settings, script_hashes: tuple[str, ...] = ()
) -> list[tuple[bytes, bytes]]:
    headers = {
        "content-security-policy": content_security_policy(settings, script_hashes),
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "strict-origin-when-cross-origin",
        "permissions-policy": PERMISSIONS_POLICY,
        "cross-origin-opener-policy": "same-origin",
    }
    if settings.portal_url.startswith("https://"):
        headers["strict-transport-security"] = HSTS
    return [(name.encode(), value.encode("latin-1")) for name, value in headers.items()]


@functools.lru_cache(maxsize=4)
def _headers_for_build(build_stamp: float | None) -> list[tuple[bytes, bytes]]:
    hashes = inline_script_hashes(frontend_build_dir()) if build_stamp is not None else ()
    return security_headers(get_settings(), hashes)


def _build_stamp() -> float | None:
    """Changes when the frontend is rebuilt (the hashes are then read again)."""
    try:
        return (frontend_build_dir() / "index.html").stat().st_mtime
    except (OSError, ImportError):
        return None


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers_for_build(_build_stamp())

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in extra if name not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(app: ASGIApp) -> ASGIApp:
    """An api_transformer: the whole backend app, wrapped."""
    return SecurityHeadersMiddleware(app)
