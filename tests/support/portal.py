"""Start the real portal (`python -m clerk_portal run`, production build) for browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
# A fixed port when free: the compiled frontend embeds its URL, so reusing it avoids a rebuild.
# One per checkout (two clones or worktrees testing at once must not answer each other's tests).
PREFERRED_PORT = 23000 + zlib.crc32(str(ROOT).encode()) % 1000


@dataclass
class RunningPortal:
    url: str
    sandbox_url: str
    database_url: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_portal(
    *,
    database_url: str,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
):
    """The portal in demo mode with its own sandbox (state next to the log), on free ports
    (`port`: this one, e.g. to restart a portal where its tabs knew it)."""
    port = port or free_port(PREFERRED_PORT)
    sandbox_port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env |= {
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "PORTAL_MODE": "demo",
        "SANDBOX_PORT": str(sandbox_port),
        "SANDBOX_DATA": str(log_path.parent / "sandbox.json"),
        "STRIPE_WEBHOOK_SECRET": "whsec_e2e_portal_tests",
        "REFLEX_USE_NPM": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        **(extra_env or {}),
    }
    log_file = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "clerk_portal", "run"],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    portal = RunningPortal(
        url=f"http://localhost:{port}",
        sandbox_url=f"http://127.0.0.1:{sandbox_port}",
        database_url=database_url,
        process=process,
        log_path=log_path,
    )
    try:
        wait_for_http(f"{portal.url}/healthz", timeout=600, is_alive=lambda: process.poll() is None)
        wait_for_http(portal.url + "/", timeout=60, is_alive=lambda: process.poll() is None)
    except BaseException:
        portal.stop()
        raise RuntimeError(f"the portal did not start:\n{portal.log()[-4000:]}") from None
    return portal
