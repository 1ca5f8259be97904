"""The portal's webhook route on a real port, counting the body bytes it reads, and a raw HTTP
client that streams a body while watching for an early answer (what a 413 needs to be seen).
"""

from __future__ import annotations

import hashlib
import hmac
import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clerk_portal.billing import webhooks
from tests.support.servers import ThreadedServer


def signature(payload: bytes, secret: str, *, at: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe builds it."""
    t = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class BodyCounter:
    """ASGI wrapper: how many body bytes the app pulled from the server (`receive`)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bytes_read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.bytes_read += len(message.get("body", b""))
            return message

        await self.app(scope, counting_receive, send)


class WebhookReceiver:
    """`webhook_routes()` served by uvicorn on a thread, plus a drain hook."""

    def __init__(self, *, port: int | None = None) -> None:
        async def drain(_request: Request) -> JSONResponse:
            await webhooks.drain()
            return JSONResponse({"ok": True})

        app = Starlette(
            routes=[*webhooks.webhook_routes(), Route("/_test/drain", drain, methods=["POST"])]
        )
        self.counter = BodyCounter(app)
        self._served = ThreadedServer(self.counter, port=port)
        self.port = self._served.port

    path = "/stripe/webhook"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def drain(self) -> None:
        httpx.post(f"http://127.0.0.1:{self.port}/_test/drain", timeout=60).raise_for_status()

    def stop(self) -> None:
        self._served.stop()


@dataclass
class RawAnswer:
    status: int | None
    body: bytes
    bytes_sent: int  # of the body, framing included, before the answer (or the end)


def raw_post(
    port: int, path: str, headers: dict[str, str], body: Iterable[bytes], *, timeout: float = 60
) -> RawAnswer:
    """POST over a plain socket, sending `body` piece by piece and stopping as soon as the server
    answers (an early 413) or stops reading; returns the answer and how much of the body went."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(head.encode())
        sock.setblocking(False)
        pieces: Iterator[bytes] = iter(body)
        pending: bytes | None = b""
        received = b""
        sent = 0
        deadline = time.monotonic() + timeout
        while not _answer_complete(received):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            writers = [sock] if pending is not None else []
            readable, writable, _ = select.select([sock], writers, [], remaining)
            if readable:
                try:
                    data = sock.recv(65536)
                except (ConnectionResetError, BlockingIOError):
                    break
                if not data:
                    break
                received += data
                continue
            if writable and pending is not None:
                if not pending:
                    pending = next(pieces, None)
                    if pending is None:
                        continue
                try:
                    count = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                    pending = None
                    continue
                sent += count
                pending = pending[count:]
        status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/1.1 ") else None
        return RawAnswer(status, received.partition(b"\r\n\r\n")[2], sent)
    finally:
        sock.close()


def _answer_complete(received: bytes) -> bool:
    head, found, rest = received.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value.strip())
    return True


def repeated(piece: bytes, total: int) -> Iterator[bytes]:
    """`total` bytes as the same `piece` again and again (nothing new allocated per piece)."""
    for _ in range(total // len(piece)):
        yield piece


def chunked(piece: bytes, total: int) -> Iterator[bytes]:
    """The same, in HTTP/1.1 chunked framing (no Content-Length)."""
    framed = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield from repeated(framed, total // len(piece) * len(framed))
    yield b"0\r\n\r\n"
