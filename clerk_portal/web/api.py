"""The backend's own HTTP routes (Starlette), mounted before Reflex's through api_transformer."""

from __future__ import annotations

import logging

import anyio
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clerk_portal.auth.routes import auth_routes
from clerk_portal.billing.webhooks import webhook_routes
from clerk_portal.core import routes
from clerk_portal.core.db import get_engine
from clerk_portal.core.settings import get_settings
from clerk_portal.web.invoice_pdf import invoice_pdf_routes
from clerk_portal.web.quote_pdf import quote_pdf_routes

log = logging.getLogger(__name__)


def _database_ok() -> None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


async def healthz(_request: Request) -> JSONResponse:
    try:
        with anyio.fail_after(5):
            await anyio.to_thread.run_sync(_database_ok)
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        log.warning("health check: database unreachable: %s", type(error).__name__)
        reason = "timed out" if isinstance(error, TimeoutError) else type(error).__name__
        return JSONResponse({"status": "error", "database": f"unreachable ({reason})"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})


def build_api() -> Starlette:
    settings = get_settings()
    return Starlette(
        routes=[
            Route(routes.HEALTHZ, healthz, methods=["GET"]),
            *auth_routes(settings),
            *webhook_routes(),
            *invoice_pdf_routes(),
            *quote_pdf_routes(),
        ]
    )
