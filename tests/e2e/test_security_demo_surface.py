"""The running demo (`python -m clerk_portal run`) as another machine and another local user see
it (issue 11, item 7 and the webhook secret on the command line): every listening socket of every
process it started is on loopback, and no command line carries a secret."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import psutil
import pytest

from clerk_portal.core.settings import get_settings

pytestmark = pytest.mark.e2e
WEBHOOK_SECRET = "whsec_e2e_portal_tests"


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _listening(pid: int) -> list[tuple[str, int]]:
    found = []
    for process in _tree(pid):
        try:
            connections = process.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        found += [c.laddr for c in connections if c.status == psutil.CONN_LISTEN]
    return found


def _non_loopback_ipv4() -> str | None:
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            is_ipv4 = address.family == socket.AF_INET
            if is_ipv4 and not ipaddress.ip_address(address.address).is_loopback:
                return address.address
    return None


def test_the_portal_and_its_sandbox_listen_on_loopback_only(portal):
    listening = _listening(portal.process.pid)
    ports = {address.port for address in listening}
    portal_port = int(portal.url.rsplit(":", 1)[1])
    sandbox_port = int(portal.sandbox_url.rsplit(":", 1)[1])
    assert {portal_port, sandbox_port} <= ports, listening
    assert {address.ip for address in listening} <= {"127.0.0.1", "::1"}, listening
    outside = _non_loopback_ipv4()
    if outside:  # from another machine: nothing answers
        for port in (portal_port, sandbox_port):
            with pytest.raises(OSError), socket.create_connection((outside, port), timeout=2):
                pass


def test_no_process_of_the_demo_has_a_secret_on_its_command_line(portal):
    secrets = (WEBHOOK_SECRET, get_settings().stripe_secret)
    processes = _tree(portal.process.pid)
    assert len(processes) >= 3  # the runner, the sandbox, Reflex (and its workers)
    for process in processes:
        try:
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        for secret in secrets:
            assert secret.encode() not in cmdline, process.pid
