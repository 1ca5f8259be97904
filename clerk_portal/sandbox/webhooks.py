"""Webhook delivery: signed POSTs in creation order, retried with bounded exponential backoff."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections import deque
from typing import Any

import httpx

log = logging.getLogger("clerk_portal.sandbox.webhooks")


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's ``Stripe-Signature`` header: ``t=<unix>,v1=<hex hmac_sha256("t.payload")>``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class WebhookSender:
    """One endpoint (set at start or through /_sandbox/webhooks). First attempts go out in
    creation order from one queue; failed events are retried by their own tasks so that one
    failing event does not hold back the ones behind it (Stripe does not promise order either)."""

    def __init__(self, url: str | None, secret: str | None) -> None:
        self.url = url
        self.secret = secret or ""
        self.max_attempts = 5
        self.initial_backoff = 0.5
        self.timeout = 10.0
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=5000)
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._retries: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def config(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "secret_set": bool(self.secret),
            "max_attempts": self.max_attempts,
            "initial_backoff": self.initial_backoff,
            "timeout": self.timeout,
        }

    def configure(self, values: dict[str, Any]) -> None:
        if "url" in values:
            self.url = values["url"] or None
        if "secret" in values:
            self.secret = values["secret"] or ""
        if values.get("max_attempts") not in (None, ""):
            self.max_attempts = max(1, int(values["max_attempts"]))
        if values.get("initial_backoff") not in (None, ""):
            self.initial_backoff = max(0.0, float(values["initial_backoff"]))
        if values.get("timeout") not in (None, ""):
            self.timeout = max(0.1, float(values["timeout"]))

    def enqueue(self, events: list[dict[str, Any]]) -> None:
        if not self.url or self._queue is None:
            return
        for event in events:
            event["pending_webhooks"] = 1
            self._queue.put_nowait(event)

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._client = httpx.AsyncClient()
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        tasks = [t for t in [self._worker, *self._retries] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if self._client is not None:
            await self._client.aclose()

    def clear(self) -> None:
        self.deliveries.clear()
        for task in self._retries:
            task.cancel()
        self._retries.clear()
        if self._queue is not None:
            while not self._queue.empty():
                self._queue.get_nowait()

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            event = await self._queue.get()
            if await self._attempt(event, 1):
                continue
            task = asyncio.get_running_loop().create_task(self._retry(event))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def _retry(self, event: dict[str, Any]) -> None:
        for attempt in range(2, self.max_attempts + 1):
            await asyncio.sleep(self.initial_backoff * 2 ** (attempt - 2))
            if await self._attempt(event, attempt):
                return

    async def _attempt(self, event: dict[str, Any], attempt: int) -> bool:
        url, secret = self.url, self.secret
        if not url or self._client is None:
            return True
        payload = json.dumps(event, indent=2)
        record: dict[str, Any] = {
            "event": event["id"],
            "type": event["type"],
            "attempt": attempt,
            "url": url,
            "time": time.time(),
            "status": None,
            "error": None,
        }
        self.deliveries.append(record)
        try:
            response = await self._client.post(
                url,
                content=payload.encode(),
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": sign(payload, secret),
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                },
                timeout=self.timeout,
            )
            record["status"] = response.status_code
            ok = 200 <= response.status_code < 300
        except (httpx.HTTPError, OSError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            ok = False
        if ok or attempt >= self.max_attempts:
            event["pending_webhooks"] = 0
        return ok
