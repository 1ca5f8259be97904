"""The /v1 dispatcher: auth, fault injection, idempotency, the request log, errors."""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import router
from .errors import StripeError, invalid
from .formdata import decode
from .store import DEFAULT_API_VERSION, Ctx
from .util import new_id

if TYPE_CHECKING:
    from .app import Sandbox

log = logging.getLogger("clerk_portal.sandbox")
IDEMPOTENCY_TTL = 24 * 3600
MAX_SAVED = 100_000


@dataclass
class Fault:
    method: str  # "GET", "POST", "DELETE" or "*"
    path: str  # exact path, or a glob ("*" matches anything, "/" included)
    count: int
    status: int | None = None
    hang_seconds: float | None = None  # hang, then execute (the client gave up meanwhile)
    hang_after_seconds: float | None = None  # execute, then hang before answering
    id: str = field(default_factory=lambda: new_id("fault_", 12))

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return path == self.path or fnmatch.fnmatchcase(path, self.path)


@dataclass
class Saved:
    endpoint: str  # "POST /v1/customers": a key belongs to the endpoint it was first used on
    fingerprint: str
    status: int
    body: bytes
    created: float


class Gatekeeper:
    """Per-process request bookkeeping: faults, idempotency records and the request log."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.saved: dict[tuple[str, str], Saved] = {}  # (API key, idempotency key)
        self.locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=20000)
        self._last_prune = time.time()

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.count > 0 and fault.matches(method, path):
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def prune(self) -> None:
        now = time.time()
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        expired = [k for k, v in self.saved.items() if now - v.created > IDEMPOTENCY_TTL]
        # also bound memory on long runs: drop the oldest records beyond MAX_SAVED
        expired += list(self.saved)[: max(0, len(self.saved) - len(expired) - MAX_SAVED)]
        for key in expired:
            self.saved.pop(key, None)
            self.locks.pop(key, None)

    def reset(self) -> None:
        self.faults.clear()
        self.saved.clear()
        self.locks.clear()
        self.requests.clear()


def _api_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().split(":", 1)[0]
        except ValueError:
            return None
    return None


def _json(status: int, body: dict[str, Any] | bytes, headers: dict[str, str]) -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(content, status, headers=headers, media_type="application/json")


def _auth_error(key: str | None) -> StripeError:
    if not key:
        message = (
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    else:
        message = f"Invalid API Key provided: {key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}"
    return StripeError(401, "authentication_error", message)


async def handle(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    gate = sandbox.gate
    method, path = request.method, request.url.path
    request_id = new_id("req_", 14)
    version = request.headers.get("stripe-version") or DEFAULT_API_VERSION
    headers = {"Request-Id": request_id, "Stripe-Version": version}
    idem_key = request.headers.get("idempotency-key")
    if idem_key:
        headers["Idempotency-Key"] = idem_key
    entry = {
        "id": request_id,
        "method": method,
        "path": path,
        "query": request.url.query,
        "time": time.time(),
        "idempotency_key": idem_key,
        "status": None,
        "replayed": False,
    }
    gate.requests.append(entry)

    def finish(status: int, body: dict[str, Any] | bytes, *, replayed: bool = False) -> Response:
        entry["status"], entry["replayed"] = status, replayed
        if isinstance(body, dict) and "_file" in body:  # a quote's PDF (Stripe: files.stripe.com)
            disposition = {"Content-Disposition": f'inline; filename="{body["_filename"]}"'}
            return Response(
                body["_file"], status, headers=headers | disposition, media_type="application/pdf"
            )
        return _json(status, body, headers)

    key = _api_key(request)
    resolved = router.resolve(method, path)
    config = sandbox.config
    # only the keys the sandbox was started with: a made-up sk_test_ key is no key
    if key is None or key not in config.secret_keys | config.publishable_keys:
        return finish(401, _auth_error(key).body())
    if resolved is None:
        err = StripeError(
            404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})."
        )
        return finish(404, err.body())
    entry_route, path_args = resolved
    publishable = key in config.publishable_keys
    if publishable and not entry_route.publishable:
        err = StripeError(
            401,
            "invalid_request_error",
            "This API call cannot be made with a publishable API key. Please use a secret API key.",
        )
        return finish(401, err.body())

    # read the body first: a hung request still executes after its client gave up
    body = (await request.body()).decode() if method == "POST" else ""
    fault = gate.take_fault(method, path)
    if fault and fault.hang_seconds:
        await asyncio.sleep(fault.hang_seconds)
    elif fault and fault.status == 429:
        err = StripeError(
            429,
            "invalid_request_error",
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
        return finish(429, err.body())
    elif fault and fault.status:
        err = StripeError(fault.status, "api_error", "An unknown error occurred (injected).")
        headers["Stripe-Should-Retry"] = "true"
        return finish(err.status, err.body())

    response = await _execute(sandbox, request, entry_route, path_args, body, finish, headers)
    if fault and fault.hang_after_seconds:  # the write is applied; its answer is lost
        await asyncio.sleep(fault.hang_after_seconds)
    return response


async def _execute(
    sandbox: Sandbox,
    request: Request,
    entry_route: router.Route,
    path_args: dict[str, str],
    body: str,
    finish: Any,
    headers: dict[str, str],
) -> Response:
    """Run the request once, or replay the saved answer of its idempotency key."""
    gate, method, path = sandbox.gate, request.method, request.url.path
    key, idem_key = _api_key(request), request.headers.get("idempotency-key")
    request_id = headers["Request-Id"]
    publishable = key in sandbox.config.publishable_keys
    try:
        params = decode(request.url.query, body)
    except StripeError as err:
        return finish(err.status, err.body())

    if method != "POST" or not idem_key:
        status, result, _ = sandbox.execute(
            entry_route, path_args, params, request, request_id, None, publishable
        )
        return finish(status, result)

    slot = (key or "", idem_key)
    endpoint = f"{method} {path}"
    fingerprint = json.dumps(params, sort_keys=True)
    lock = gate.locks.setdefault(slot, asyncio.Lock())
    async with lock:
        saved = gate.saved.get(slot)
        if saved is not None and saved.endpoint != endpoint:
            err = StripeError(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{saved.endpoint}' vs '{endpoint}'). Try using a key other "
                f"than '{idem_key}' if you meant to execute a different request.",
            )
            return finish(400, err.body())
        if saved is not None:
            if saved.fingerprint != fingerprint:
                err = StripeError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with. Try using a key other than "
                    f"'{idem_key}' if you meant to execute a different request.",
                )
                return finish(400, err.body())
            headers["Idempotent-Replayed"] = "true"
            return finish(saved.status, saved.body, replayed=True)
        status, result, began = sandbox.execute(
            entry_route, path_args, params, request, request_id, idem_key, publishable
        )
        raw = json.dumps(result).encode()
        # Saved once the endpoint began executing: a success, or a failure that left its mark (a
        # declined charge). A request refused by validation (or anything that changed nothing)
        # is not saved, so its corrected retry runs; nor is a sandbox 500.
        if began and status < 500:
            gate.saved[slot] = Saved(endpoint, fingerprint, status, raw, time.time())
        gate.prune()
        return finish(status, raw)


def run_handler(
    ctx: Ctx, entry_route: router.Route, path_args: dict[str, str], params: dict[str, Any]
) -> tuple[int, dict[str, Any], bool]:
    """Run a handler; returns (status, body, commit) where commit says whether to keep events."""
    try:
        if ctx.publishable and "client_secret" not in params and path_args:
            raise invalid("A client_secret is required with a publishable key.", "client_secret")
        router.check_params(entry_route, params)
        return 200, entry_route.handler(ctx, params, **path_args), True
    except StripeError as err:
        if err.missing_id is not None and err.missing_id in path_args.values():
            err.status, err.param = 404, "id"
        return err.status, err.body(), err.keep_effects
    except Exception:  # a sandbox bug: answer like Stripe's 500 and keep serving
        log.exception("sandbox handler failed")
        return 500, StripeError(500, "api_error", "An unknown error occurred.").body(), False
