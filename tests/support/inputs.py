"""Clients of the running portal that come from another loopback address (127.0.0.2, ...).

They always reach the portal over IPv4 (the source address is IPv4), so use one such client for
every request of a test: `localhost` may resolve to ::1 first.

The portal limits anonymous clients by address, so an attack test sends from an address of its
own: what it uses up is not taken from the tests that browse from 127.0.0.1.
"""

from __future__ import annotations

import random
import socket
import threading
import uuid
from urllib.parse import urlsplit

import httpx
import socketio

from tests.support.reflex_socket import NAMESPACE, ReflexSocket


class SocketFrom(ReflexSocket):
    """A ReflexSocket whose TCP connection starts from `source` (a 127.x.y.z address)."""

    def __init__(self, base_url: str, *, source: str, cookie: str | None = None):
        parts = urlsplit(base_url)
        connection = socket.create_connection(
            (parts.hostname, parts.port or 80), timeout=10, source_address=(source, 0)
        )
        self.base_url = base_url
        self.token = str(uuid.uuid4())
        self._client = socketio.Client(
            reconnection=False, websocket_extra_options={"socket": connection}
        )
        self._lock = threading.Condition()
        self._updates = []
        self._client.on("event", self._received, namespace=NAMESPACE)
        self._client.connect(
            f"{base_url}?token={self.token}",
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=[NAMESPACE],
            headers={"Cookie": cookie} if cookie else {},
            wait_timeout=10,
        )


def fresh_source() -> str:
    """A loopback address no earlier run has used up (limits in Redis outlive a test run)."""
    return f"127.{random.randint(2, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def http_from(source: str) -> httpx.Client:
    """An HTTP client whose requests come from `source`."""
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=source), follow_redirects=False, timeout=20
    )
