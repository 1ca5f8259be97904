"""The Starlette app: the API, controls, documents, Stripe.js and background work, wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from . import api, controls, documents, resources, router, stripe_js
from .browser_guard import BrowserGuard
from .resources.clocks import run_due
from .store import DEFAULT_API_VERSION, Ctx, Store
from .webhooks import WebhookSender

assert resources  # importing the package registers the /v1 routes
log = logging.getLogger("clerk_portal.sandbox")
TICK_SECONDS = 2.0
SAVE_DELAY = 0.05


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 12111
    data: Path | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    # the only API keys accepted; publishable ones only where Stripe.js calls
    secret_keys: frozenset[str] = frozenset()
    publishable_keys: frozenset[str] = frozenset()
    # the portal's origins: the only ones given CORS (on Stripe.js's endpoints only)
    allowed_origins: tuple[str, ...] = ()
    # Host header names accepted besides IP addresses and localhost
    allowed_hosts: tuple[str, ...] = ()


class Sandbox:
    """Process-wide state: the store, request bookkeeping, webhook delivery, persistence."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.public_url = f"http://{config.host}:{config.port}"
        self.store = Store(config.data)
        self.gate = api.Gatekeeper()
        self.webhooks = WebhookSender(config.webhook_url, config.webhook_secret)
        self.store.on_events = self.webhooks.enqueue
        self._save_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def context(self, request: Request | None = None, **kwargs: Any) -> Ctx:
        base = str(request.base_url).rstrip("/") if request is not None else self.public_url
        version = DEFAULT_API_VERSION
        if request is not None:
            version = request.headers.get("stripe-version") or DEFAULT_API_VERSION
        return Ctx(store=self.store, base_url=base, api_version=version, **kwargs)

    def execute(
        self,
        entry: router.Route,
        path_args: dict[str, str],
        params: dict[str, Any],
        request: Request,
        request_id: str,
        idempotency_key: str | None,
        publishable: bool,
    ) -> tuple[int, dict[str, Any], bool]:
        """(status, body, whether it took effect: success, or a failure that keeps effects)."""
        ctx = self.context(
            request,
            request_id=request_id,
            idempotency_key=idempotency_key,
            publishable=publishable,
        )
        status, body, commit = api.run_handler(ctx, entry, path_args, params)
        if commit:
            self.store.commit_events(ctx.events)
        if entry.method != "GET":
            self.mark_dirty()
        return status, body, commit

    def run_internal(self, fn: Callable[[Ctx], Any], request: Request | None = None) -> Any:
        """Run sandbox-internal work (controls, ticks) with the same event/persistence rules."""
        ctx = self.context(request)
        result = fn(ctx)
        self.store.commit_events(ctx.events)
        self.mark_dirty()
        return result

    # -- persistence ----------------------------------------------------------------------------

    def mark_dirty(self) -> None:
        if not self.config.data:
            return
        self.store.dirty = True
        if self._save_task is None or self._save_task.done():
            self._save_task = asyncio.get_running_loop().create_task(self._save_soon())

    async def _save_soon(self) -> None:
        while self.store.dirty:  # changes made while a write was running get their own write
            await asyncio.sleep(SAVE_DELAY)
            self.store.dirty = False
            text = self.store.dump()
            await asyncio.to_thread(self.store.save, text)

    def save_now(self) -> None:
        if self.config.data:
            self.store.save()
            self.store.dirty = False

    # -- background work ------------------------------------------------------------------------

    async def _tick(self) -> None:
        """Real-time subscriptions (no test clock) renew, retry and expire on their own."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                ran = 0

                def work(ctx: Ctx) -> None:
                    nonlocal ran
                    ran = run_due(ctx, None, int(time.time()))

                ctx = self.context()
                work(ctx)
                if ran:
                    self.store.commit_events(ctx.events)
                    self.mark_dirty()
            except Exception:
                log.exception("scheduler tick failed")

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.webhooks.start()
        self._tasks.append(asyncio.get_running_loop().create_task(self._tick()))
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            await self.webhooks.stop()
            if self._save_task is not None and not self._save_task.done():
                with contextlib.suppress(BaseException):
                    await self._save_task
            self.save_now()


def create_app(config: Config | None = None) -> Starlette:
    sandbox = Sandbox(config or Config())
    routes = [
        Route("/v1/{path:path}", api.handle, methods=["GET", "POST", "DELETE"]),
        *controls.routes(),
        *documents.routes(),
        *stripe_js.routes(),
    ]
    hosts = (*sandbox.config.allowed_hosts, sandbox.config.host)
    middleware = [
        Middleware(BrowserGuard, origins=sandbox.config.allowed_origins, hosts=hosts),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=sandbox.lifespan)
    app.state.sandbox = sandbox
    return app
