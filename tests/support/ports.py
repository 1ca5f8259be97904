"""Free local ports and waiting for a server to answer."""

from __future__ import annotations

import socket
import time

import httpx


def free_port(preferred: int | None = None) -> int:
    """The preferred port if free (it keeps the build cache warm), else any free one."""
    candidates = [preferred] if preferred else []
    for port in [*candidates, 0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


def wait_for_http(url: str, *, timeout: float, is_alive=lambda: True) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not is_alive():
            raise RuntimeError(f"the server behind {url} exited before answering")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as error:
            last_error = error
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s (last error: {last_error})")
