"""Free local ports and waiting for a server to answer."""

from __future__ import annotations

import socket

import httpx

from tests.support.waiting import eventually


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
    last_error: list[Exception] = []

    def answers() -> bool:
        if not is_alive():
            raise RuntimeError(f"the server behind {url} exited before answering")
        try:
            return httpx.get(url, timeout=2).status_code < 500
        except httpx.HTTPError as error:
            last_error[:] = [error]
            return False

    try:
        eventually(answers, within=timeout, every=0.25, what=f"{url} to answer")
    except AssertionError:
        message = f"{url} did not answer within {timeout:.0f} s (last error: {last_error})"
        raise TimeoutError(message) from None
