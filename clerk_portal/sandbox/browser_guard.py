"""What a web page may do with the sandbox: what Stripe.js does, from the portal's origins only.

Browsers send ``Origin`` on cross-origin requests (and on same-origin writes). A request that
carries one is let through only where Stripe.js itself calls the sandbox (creating payment
methods, confirming and reading intents with their client secret, the 3-D Secure test outcome,
the script at /v3), and CORS headers name only the configured origins. Every other preflight is
refused and every other write from a page is refused before it runs, so a page elsewhere can
neither read the sandbox nor change it with a plain form post. The ``Host`` header must be an IP
address, ``localhost`` or a configured name: a DNS-rebound name is refused.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders

from . import router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The 3-D Secure outcome posted by the stand-in's dialog (and the sandbox's own test page).
_BROWSER_CONTROL = re.compile(
    r"^/_sandbox/(authenticate/[^/]+|(setup|payment)_intents/[^/]+/authenticate)$"
)
_SAFE_METHODS = frozenset({"GET", "HEAD"})
# The headers Stripe.js (and its stand-in) send with a /v1 call.
ALLOW_HEADERS = "authorization, content-type, stripe-version, idempotency-key, stripe-account"
EXPOSE_HEADERS = "Request-Id, Idempotent-Replayed, Stripe-Version"
PREFLIGHT_MAX_AGE = "600"


def browser_endpoint(method: str, path: str) -> bool:
    """Whether Stripe.js calls ``method path`` from the page (the only CORS endpoints)."""
    if path in ("/v3", "/v3/"):
        return method in _SAFE_METHODS
    if _BROWSER_CONTROL.match(path):
        return method == "POST"
    if path.startswith("/v1/"):
        resolved = router.resolve(method, path)
        return resolved is not None and resolved[0].publishable
    return False


def host_name(host_header: str) -> str:
    """``127.0.0.1:12111`` → ``127.0.0.1``; ``[::1]:80`` → ``::1``."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class BrowserGuard:
    def __init__(self, app: ASGIApp, *, origins: Iterable[str], hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.origins = frozenset(o.rstrip("/") for o in origins if o and o != "*")
        self.hosts = frozenset({"localhost", *(h.lower() for h in hosts)})

    def _host_allowed(self, host_header: str) -> bool:
        name = host_name(host_header).lower()
        return bool(name) and (name in self.hosts or _is_ip(name))

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self._host_allowed(host):
            await _refuse(send, 400, f"Invalid Host header: {host[:100]!r}.")
            return
        origin = headers.get("origin")
        if origin is None:  # not a page's cross-origin request: the API key decides
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        trusted = origin in self.origins
        requested = headers.get("access-control-request-method")
        if method == "OPTIONS" and requested:
            if trusted and browser_endpoint(requested.upper(), path):
                await _preflight(send, origin)
            else:
                await _refuse(send, 403, "CORS preflight refused for this origin and endpoint.")
            return
        own = origin == f"{scope.get('scheme', 'http')}://{host}"
        allowed = browser_endpoint(method, path) and (trusted or own)
        if method not in _SAFE_METHODS and not allowed:
            await _refuse(
                send,
                403,
                "Web pages may call only the endpoints Stripe.js uses, from the portal's origin.",
            )
            return
        if not (trusted and browser_endpoint(method, path)):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = origin
                out["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _preflight(send: Any, origin: str) -> None:
    headers = [
        (b"access-control-allow-origin", origin.encode()),
        (b"access-control-allow-methods", b"GET, POST"),
        (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
        (b"vary", b"Origin"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": {"type": "invalid_request_error", "message": message}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"vary", b"Origin"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
