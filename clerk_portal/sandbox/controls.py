"""Sandbox-only controls under /_sandbox/ (no API key: for local processes; web pages are
refused by ``browser_guard``, except the 3-D Secure outcome that Stripe.js posts)."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .api import Fault
from .errors import StripeError, invalid, not_found
from .formdata import decode
from .render import render
from .resources import payment_intents, payment_methods
from .store import Ctx

if TYPE_CHECKING:
    from .app import Sandbox


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


async def _body(request: Request) -> dict[str, Any]:
    raw = (await request.body()).decode()
    if request.headers.get("content-type", "").startswith("application/json"):
        return json.loads(raw or "{}")
    return decode(request.url.query, raw)


def _error(err: StripeError) -> JSONResponse:
    return JSONResponse(err.body(), err.status)


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


CATALOG = ("products", "prices", "coupons", "promotion_codes")


async def reset(request: Request) -> Response:
    sandbox = _sandbox(request)
    keep = (await _body(request)).get("keep")
    if keep not in (None, "", "catalog"):
        return _error(invalid("keep must be `catalog` (or absent).", "keep"))
    sandbox.store.reset(CATALOG if keep == "catalog" else ())
    for name in ("coupons", "promotion_codes"):  # the redemptions were forgotten with them
        for record in sandbox.store.data[name].values():
            record["times_redeemed"] = 0
    sandbox.gate.reset()
    sandbox.webhooks.clear()
    sandbox.mark_dirty()
    return JSONResponse({"ok": True})


async def faults(request: Request) -> Response:
    gate = _sandbox(request).gate
    if request.method == "DELETE":
        gate.faults.clear()
    elif request.method == "POST":
        body = await _body(request)
        status = int(body["status"]) if body.get("status") not in (None, "") else None
        hang, after = (
            float(body[name]) if body.get(name) not in (None, "") else None
            for name in ("hang_seconds", "hang_after_seconds")
        )
        given = [value for value in (status, hang, after) if value is not None]
        if len(given) != 1 or status not in (None, 500, 429, 502, 503):
            return _error(
                invalid("Give one of status (500|429|502|503), hang_seconds or hang_after_seconds.")
            )
        if not body.get("path"):
            return _error(invalid("Missing path (exact, or a glob such as /v1/subscriptions*)."))
        fault = Fault(
            method=str(body.get("method") or "*").upper(),
            path=str(body["path"]),
            count=int(body.get("count") or 1),
            status=status,
            hang_seconds=hang,
            hang_after_seconds=after,
        )
        gate.faults.append(fault)
        return JSONResponse(vars(fault))
    return JSONResponse({"data": [vars(f) for f in gate.faults]})


async def requests_log(request: Request) -> Response:
    gate = _sandbox(request).gate
    if request.method == "DELETE":
        gate.requests.clear()
        return JSONResponse({"ok": True})
    prefix = request.query_params.get("path")
    data = [r for r in gate.requests if not prefix or r["path"].startswith(prefix)]
    return JSONResponse({"data": data, "count": len(data)})


async def webhooks(request: Request) -> Response:
    sender = _sandbox(request).webhooks
    if request.method == "DELETE":
        sender.clear()
    elif request.method == "POST":
        sender.configure(await _body(request))
    return JSONResponse({"config": sender.config(), "deliveries": list(sender.deliveries)})


async def settings(request: Request) -> Response:
    store = _sandbox(request).store
    if request.method == "POST":
        body = await _body(request)
        if "retry_days" in body:
            days = body["retry_days"]
            days = days if isinstance(days, list) else str(days).split(",")
            store.settings["retry_days"] = [int(d) for d in days if str(d).strip()]
        if "upcoming_renewal_days" in body:
            days = str(body["upcoming_renewal_days"]).strip()
            if not days.isdigit():
                message = "upcoming_renewal_days must be a whole number of days (0: none)."
                return JSONResponse({"error": {"message": message}}, status_code=400)
            store.settings["upcoming_renewal_days"] = int(days)
        if body.get("retries_exhausted") in ("cancel", "unpaid"):
            store.settings["retries_exhausted"] = body["retries_exhausted"]
        _sandbox(request).mark_dirty()
    return JSONResponse(store.settings)


def _authenticate(ctx: Ctx, intent_id: str, complete: bool) -> dict[str, Any]:
    intent = ctx.store.get(intent_id)
    if intent is None or intent["object"] not in ("setup_intent", "payment_intent"):
        error = not_found("intent", intent_id)
        error.status = 404  # the path's id
        raise error
    if intent["object"] == "payment_intent":
        payment_intents.authenticate(ctx, intent, complete)
        return render(ctx, intent)
    if intent["status"] != "requires_action":
        raise invalid(f"SetupIntent {intent_id} does not require action.")
    if complete:
        payment_methods.succeed_setup(ctx, intent)
    else:
        payment_methods.fail_setup(ctx, intent, payment_methods.authentication_failure())
    return render(ctx, intent)


async def authenticate(request: Request) -> Response:
    """Complete or fail 3-D Secure: ``outcome=complete|fail`` (what the test 3DS page does)."""
    intent_id = request.path_params["intent_id"]
    body = await _body(request)
    outcome = body.get("outcome", "complete")
    if outcome not in ("complete", "fail"):
        return _error(invalid("outcome must be complete or fail", "outcome"))
    sandbox = _sandbox(request)
    try:
        result = sandbox.run_internal(
            lambda ctx: _authenticate(ctx, intent_id, outcome == "complete"), request
        )
    except StripeError as err:
        return _error(err)
    return JSONResponse(result)


async def three_d_secure_page(request: Request) -> Response:
    """A stand-in for Stripe's test 3-D Secure page (for redirects outside Stripe.js)."""
    intent_id = html.escape(request.path_params["intent_id"])
    page = f"""<!doctype html><html><head><title>3D Secure test page</title></head>
<body style="font-family:sans-serif;max-width:28rem;margin:3rem auto">
<h1>3D Secure 2 test page</h1><p>Sandbox authentication for <code>{intent_id}</code>.</p>
<form method="post" action="/_sandbox/authenticate/{intent_id}">
<button name="outcome" value="complete">Complete authentication</button>
<button name="outcome" value="fail">Fail authentication</button></form></body></html>"""
    return HTMLResponse(page)


def routes() -> list[Route]:
    return [
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/requests", requests_log, methods=["GET", "DELETE"]),
        Route("/_sandbox/webhooks", webhooks, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/settings", settings, methods=["GET", "POST"]),
        Route("/_sandbox/authenticate/{intent_id}", authenticate, methods=["POST"]),
        Route("/_sandbox/setup_intents/{intent_id}/authenticate", authenticate, methods=["POST"]),
        Route("/_sandbox/payment_intents/{intent_id}/authenticate", authenticate, methods=["POST"]),
        Route("/_sandbox/3ds/{intent_id}", three_d_secure_page, methods=["GET"]),
    ]
