"""Issue 11, medium 4: what a client can make the server log, over the real websocket.

Reflex's frontend-exception reporter logs whatever a tab sends, and a handler that raises on a
forged payload logs a traceback per event. Before the fix, 1000 reports of 100 KB wrote about
100 MB of log, and a newline in the text started a forged record.
"""

from __future__ import annotations

import time

import pytest

from tests.support.reflex_socket import ROOT_STATE, ReflexSocket
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

FORGED = "2026-12-02 ERROR forged"
REPORTER = (
    f"{ROOT_STATE}.reflex___state____frontend_event_exception_state.handle_frontend_exception"
)
SUPPRESSED = "client log records suppressed"
# 40 records (the total burst) of at most ~2.2 KB each, plus summaries and other tests' lines.
LOG_BUDGET = 200_000
CHUNK = 40


def _log_since(portal, offset: int) -> str:
    return portal.log_path.read_bytes()[offset:].decode(errors="replace")


def _flood(portal, handler: str, payload: dict, count: int) -> None:
    socket = ReflexSocket(portal.url)
    try:
        for sent in range(count):
            # Fire and forget, as a script does; a reply now and then waits until all were
            # processed (in chunks, so that the unprotected server answered within its timeout).
            socket._emit(handler, payload, "/login")
            if sent % CHUNK == CHUNK - 1 or sent == count - 1:
                socket.call(f"{ROOT_STATE}.set_is_hydrated", {"value": True}, path="/login")
    finally:
        socket.close()


def _wait_for(portal, offset: int, text: str, timeout: float = 30) -> str:
    """The portal's log since `offset`, once it contains `text`."""
    return eventually(
        lambda: written if text in (written := _log_since(portal, offset)) else "",
        within=timeout,
        every=0.2,
        what=f"{text!r} in the portal's log",
    )


def _forged_lines(written: str) -> list[str]:
    return [line for line in written.splitlines() if line.lstrip().startswith(FORGED)]


def test_a_flood_of_frontend_exceptions_writes_a_bounded_log_without_forged_lines(portal):
    offset = portal.log_path.stat().st_size
    message = ("x" * 1000 + f"\n{FORGED}\n") * 100  # ~100 KB, a forged record every KB
    started = time.monotonic()
    _flood(portal, REPORTER, {"info": message, "component_stack": message}, 1000)
    elapsed = time.monotonic() - started

    written = _wait_for(portal, offset, SUPPRESSED)
    grew = len(written.encode())
    print(f"1000 reports of {len(message)} chars in {elapsed:.1f} s: log grew {grew} bytes")
    assert grew < LOG_BUDGET, f"the log grew {grew} bytes"
    assert not _forged_lines(written), _forged_lines(written)[:3]
    reports = [line for line in written.splitlines() if "frontend exception [client" in line]
    assert reports, "the first reports are still logged"
    assert all(len(line) < 2300 for line in reports)
    assert "\\n" + FORGED in reports[0], "the newline is written escaped"
    # One summary line per 10 s window instead of ~1000 records.
    assert 1 <= written.count(SUPPRESSED) <= 2 + elapsed / 10


def test_client_error_reports_and_forged_events_cannot_forge_or_flood(portal):
    offset = portal.log_path.stat().st_size
    forged = ("y" * 200 + f"\n{FORGED}\r\n\x1b[2K") * 50
    socket = ReflexSocket(portal.url)
    try:
        for sent in range(300):
            # Reflex's own socket event for frontend errors, and events no handler accepts.
            socket._client.emit(
                "client_error",
                {"error_type": f"x\n{FORGED}", "message": forged},
                namespace="/_event",
            )
            socket._emit(f"{ROOT_STATE}.no_such_state.handler\n{FORGED}", {"a": forged}, "/login")
            socket._emit(f"{ROOT_STATE}.set_is_hydrated", {f"\n{FORGED}": forged}, "/login")
            if sent % CHUNK == CHUNK - 1:
                socket.call(f"{ROOT_STATE}.set_is_hydrated", {"value": True}, path="/login")
        socket.call(f"{ROOT_STATE}.set_is_hydrated", {"value": True}, path="/login")
    finally:
        socket.close()

    written = _wait_for(portal, offset, SUPPRESSED)
    grew = len(written.encode())
    print(f"900 forged reports and events: log grew {grew} bytes")
    assert grew < LOG_BUDGET, f"the log grew {grew} bytes"
    assert not _forged_lines(written), _forged_lines(written)[:3]
    assert "\x1b" not in written, "control characters are escaped"


def test_another_client_is_still_heard_after_one_floods(portal):
    _flood(portal, REPORTER, {"info": "flood", "component_stack": ""}, 50)
    offset = portal.log_path.stat().st_size
    _flood(portal, REPORTER, {"info": "a real error from another tab", "component_stack": ""}, 1)
    assert "a real error from another tab" in _wait_for(portal, offset, "another tab")
