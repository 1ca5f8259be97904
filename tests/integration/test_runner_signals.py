"""`make run` on a fresh clone, with the defaults: it starts, leaves the working tree clean, and
stops every process it started on Ctrl-C (SIGINT), `timeout` or a supervisor (SIGTERM) and a closed
terminal (SIGHUP), without a traceback.

One clone for the module: the first start builds the frontend in it, the others reuse that build
(the port stays the same, so the compiled frontend does too)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.support.clone import fresh_clone, git_status
from tests.support.ports import free_port, wait_for_http
from tests.support.waiting import eventually

STOP_DEADLINE_SECONDS = 20
STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return fresh_clone(tmp_path_factory.mktemp("fresh") / "clerk_portal")


@pytest.fixture(scope="module")
def ports() -> dict[str, str]:
    return {"PORT": str(free_port()), "SANDBOX_PORT": str(free_port())}


def _listening(port: int) -> bool:
    return any(
        conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
        for conn in psutil.net_connections(kind="tcp")
    )


def _start(clone: Path, ports: dict[str, str], log: Path) -> subprocess.Popen:
    """`make run` in a process group of its own, with only the ports set: database, sandbox data
    and webhook secret are the defaults under var/. (`-o`: the clone shares this checkout's
    virtualenv, which make must not reinstall because the clone's requirements.txt is newer.)"""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "SANDBOX_", "STRIPE_", "REDIS_", "PORTAL_", "OIDC_"))
    }
    return subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.runtime-installed", "run"],
        cwd=clone,
        env={**env, **ports},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.timeout(720)  # the first start installs the frontend's packages and builds it
@pytest.mark.parametrize("signum", STOP_SIGNALS, ids=lambda signum: signum.name)
def test_every_child_stops_on_a_signal_to_the_group(clone, ports, tmp_path, signum):
    log = tmp_path / "run.log"
    make = _start(clone, ports, log)
    group: list[psutil.Process] = []
    try:
        url = f"http://localhost:{ports['PORT']}"
        wait_for_http(f"{url}/healthz", timeout=600, is_alive=lambda: make.poll() is None)
        leader = psutil.Process(make.pid)
        group = [leader, *leader.children(recursive=True)]
        # Reflex writes .gitignore when it initialises a fresh checkout: that must change nothing.
        status_while_running = git_status(clone)

        os.killpg(make.pid, signum)
        # Again while it stops, as make forwarding SIGTERM to its child or a second Ctrl-C does:
        # the shutdown must still finish. (Once the runner says it has begun stopping.)
        eventually(
            lambda: "clerk_portal: stopping" in log.read_text(errors="replace"),
            within=STOP_DEADLINE_SECONDS,
            what="the runner to begin stopping",
        )
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signum)
        _, alive = psutil.wait_procs(group, timeout=STOP_DEADLINE_SECONDS)
        output = log.read_text(errors="replace")
        assert alive == [], f"still running after {signum.name}: {alive}\n{output[-3000:]}"
        for name in ("PORT", "SANDBOX_PORT"):
            assert not _listening(int(ports[name])), f"{name} {ports[name]} is still held"
        assert "Traceback" not in output, output[-3000:]
        assert status_while_running == ""
        assert git_status(clone) == ""
    finally:  # whatever failed, leave nothing behind for the next test
        for process in group:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        if make.poll() is None:
            make.kill()
        make.wait()
