"""Start the Stripe sandbox as a real process (``python -m clerk_portal.sandbox``) for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import stripe

from tests.support.waiting import eventually

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "sk_test_sandbox_0123456789"
PUBLISHABLE_KEY = "pk_test_sandbox_0123456789"
# The portal's origin the test sandboxes give CORS to (on Stripe.js's endpoints only).
PORTAL_ORIGIN = "http://localhost:3000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SandboxProcess:
    """A running sandbox; ``url`` is its base address (use it as the SDK's ``api`` base)."""

    port: int
    process: subprocess.Popen[bytes]
    data: Path | None = None
    args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, api_key: str = SECRET_KEY, **kwargs: Any) -> stripe.StripeClient:
        """A ``StripeClient`` talking to this sandbox (no automatic retries unless asked)."""
        kwargs.setdefault("max_network_retries", 0)
        return stripe.StripeClient(api_key, base_addresses={"api": self.url}, **kwargs)

    def control(self, http_method: str, path: str, /, **data: Any) -> Any:
        """Call a /_sandbox/ control (form-encoded body); returns the decoded JSON."""
        response = httpx.request(
            http_method, f"{self.url}/_sandbox/{path}", data=data or None, timeout=10
        )
        response.raise_for_status()
        return response.json()

    def reset(self, *, keep_catalog: bool = False) -> None:
        if keep_catalog:
            self.control("POST", "reset", keep="catalog")
        else:
            self.control("POST", "reset")

    def requests_log(self, path_prefix: str | None = None) -> list[dict[str, Any]]:
        query = f"?path={path_prefix}" if path_prefix else ""
        return self.control("GET", f"requests{query}")["data"]

    def add_fault(
        self,
        method: str,
        path: str,
        *,
        count: int = 1,
        status: int | None = None,
        hang_seconds: float | None = None,
        hang_after_seconds: float | None = None,
    ) -> dict[str, Any]:
        """`hang_seconds` delays the request before it runs; `hang_after_seconds` runs it (the
        write is applied) and then holds the answer back, as a lost response does."""
        data: dict[str, Any] = {"method": method, "path": path, "count": count}
        if status is not None:
            data["status"] = status
        if hang_seconds is not None:
            data["hang_seconds"] = hang_seconds
        if hang_after_seconds is not None:
            data["hang_after_seconds"] = hang_after_seconds
        return self.control("POST", "faults", **data)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def authenticate(self, intent_id: str, outcome: str = "complete") -> dict[str, Any]:
        return self.control("POST", f"authenticate/{intent_id}", outcome=outcome)

    def configure_webhooks(self, **values: Any) -> dict[str, Any]:
        return self.control("POST", "webhooks", **values)

    def stop(self, timeout: float = 10) -> None:
        """Stop gracefully (SIGTERM, which flushes ``--data``), then kill if needed."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    port: int | None = None,
    data: str | Path | None = None,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    *,
    secret_keys: tuple[str, ...] = (SECRET_KEY,),
    publishable_keys: tuple[str, ...] = (PUBLISHABLE_KEY,),
    allowed_origins: tuple[str, ...] = (PORTAL_ORIGIN,),
    startup_timeout: float = 120,
) -> SandboxProcess:
    """Start ``python -m clerk_portal.sandbox`` on ``port`` (a free one by default) and wait.
    It accepts only ``secret_keys``/``publishable_keys`` (given by environment, as `make run`
    does, never on the command line) and gives CORS only to ``allowed_origins``.

    The timeout is a limit, not a wait: a start takes about a second alone, but many times that
    when several test processes start theirs at once on a loaded 2-core machine."""
    port = port or free_port()
    args = [
        sys.executable,
        "-m",
        "clerk_portal.sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if data:
        args += ["--data", str(data)]
    if webhook_url:
        args += ["--webhook-url", webhook_url]
    for origin in allowed_origins:
        args += ["--allow-origin", origin]
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "SANDBOX_SECRET_KEYS": ",".join(secret_keys),
        "SANDBOX_PUBLISHABLE_KEYS": ",".join(publishable_keys),
        "SANDBOX_WEBHOOK_SECRET": webhook_secret or "",
    }
    process = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env)
    sandbox = SandboxProcess(port, process, Path(data) if data else None, args)

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited with code {process.returncode}")
        try:
            return httpx.get(f"{sandbox.url}/_sandbox/health", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually(healthy, within=startup_timeout, what=f"the sandbox on port {port}")
    except AssertionError:
        sandbox.stop()
        raise RuntimeError(f"sandbox did not start on port {port}") from None
    return sandbox
