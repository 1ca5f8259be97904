"""What any browser can make the server log: escaped, capped and rate-limited.

A client reaches the log through Reflex's frontend-exception reporter (any text, any size), a
handler that raises on a bad payload (a traceback per event) and Reflex's own warnings about
unknown events or odd connections (which repeat the event's name and payload). Each of those
records is written here as ONE line: control characters escaped (a newline cannot start a forged
record), at most CLIENT_TEXT_LIMIT characters of client text, at most BURST records per client and
TOTAL_BURST in all before the buckets refill, and one "N client log records suppressed" line per
SUMMARY_SECONDS instead of the rest.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass

CLIENT_TEXT_LIMIT = 2048
# Per client (its Reflex token, or its socket id): BURST records, refilled over REFILL_SECONDS.
BURST = 5
# All clients together (tokens are the client's to choose, so this is the real bound).
TOTAL_BURST = 40
REFILL_SECONDS = 60.0
SUMMARY_SECONDS = 10.0
_MAX_TRACKED_CLIENTS = 10_000
_TRACEBACK_FRAMES = 6

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SID = re.compile(r"^\[SID: ([^\]]{1,64})\]")

log = logging.getLogger("clerk_portal.web.client_logs")


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_client_text(value: object, limit: int = CLIENT_TEXT_LIMIT) -> str:
    """`value` as one printable line of at most `limit` characters (plus a length note)."""
    text = value if isinstance(value, str) else str(value)
    escaped = "".join(map(_escape_char, text[:limit]))  # never walk more than is kept
    if len(escaped) > limit or len(text) > limit:
        return f"{escaped[:limit]}… [{len(text)} characters, cut]"
    return escaped


@dataclass
class _Bucket:
    tokens: float
    updated: float

    def take(self, now: float, capacity: int) -> bool:
        self.tokens = min(capacity, self.tokens + (now - self.updated) * capacity / REFILL_SECONDS)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class ClientLogLimiter:
    """Token buckets per client and in total, and the count of what they refused."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, _Bucket] = OrderedDict()
        self._total = _Bucket(TOTAL_BURST, clock())
        self.suppressed = 0
        self._summary_due: float | None = None

    def allow(self, client: str) -> bool:
        with self._lock:
            now = self._clock()
            bucket = self._clients.pop(client, None) or _Bucket(BURST, now)
            self._clients[client] = bucket  # most recent last; the oldest are forgotten
            while len(self._clients) > _MAX_TRACKED_CLIENTS:
                self._clients.popitem(last=False)
            # The client's own budget first, so a flooding client does not drain the total.
            allowed = bucket.take(now, BURST) and self._total.take(now, TOTAL_BURST)
            if not allowed:
                self.suppressed += 1
                if self._summary_due is None:
                    self._summary_due = now + SUMMARY_SECONDS
            return allowed

    def take_summary(self, *, force: bool = False) -> int:
        """The number suppressed since the last summary, once it is due (else 0)."""
        with self._lock:
            due = self._summary_due
            if due is None or (not force and self._clock() < due):
                return 0
            count, self.suppressed, self._summary_due = self.suppressed, 0, None
            return count


class _OneLineFormatter(logging.Formatter):
    """Every record is one line, whoever logs through this handler."""

    def format(self, record: logging.LogRecord) -> str:
        return _CONTROL.sub(lambda match: _escape_char(match.group()), super().format(record))


def _own_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


log.addHandler(_own_handler())
log.propagate = False  # Reflex's console sink wraps long lines, which would start new "lines"
log.setLevel(logging.INFO)

limiter = ClientLogLimiter()


def _current_client() -> str | None:
    try:
        from reflex_base.event.context import EventContext

        return EventContext.get().token
    except (LookupError, ImportError):
        return None


def _flush_summary(*, force: bool = False) -> None:
    count = limiter.take_summary(force=force)
    if count:
        log.warning(
            "%d client log records suppressed in the last %.0f s (rate limit)",
            count,
            SUMMARY_SECONDS,
        )


def _schedule_summary() -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_later(SUMMARY_SECONDS + 0.1, _flush_summary)


def client_log(level: int, what: str, text: object, *, client: str | None = None) -> bool:
    """Log `what: text` for a client (escaped, capped, rate-limited); whether it was written."""
    _flush_summary()
    client = client or _current_client() or "unknown"
    had_suppressed = limiter.suppressed
    if not limiter.allow(client):
        if not had_suppressed:
            _schedule_summary()
        return False
    log.log(
        level, "%s [client %s]: %s", what, escape_client_text(client, 64), escape_client_text(text)
    )
    return True


def describe_exception(exception: BaseException) -> str:
    """The exception's type, its (client-influenced) message and the last frames, one string."""
    frames = traceback.extract_tb(exception.__traceback__)[-_TRACEBACK_FRAMES:]
    where = " <- ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
        for frame in reversed(frames)
    )
    return f"{type(exception).__qualname__}: {exception}" + (f" (at {where})" if where else "")


# --- the app's exception handlers (rx.App options) -----------------------------------------------


def report_frontend_exception(exception: Exception) -> None:
    """rx.App(frontend_exception_handler=...): what a browser reports about its own errors."""
    text = str(exception)
    sid = _SID.match(text)
    client_log(logging.ERROR, "frontend exception", text, client=sid.group(1) if sid else None)


def report_backend_exception(exception: Exception):
    """rx.App(backend_exception_handler=...): a handler raised (often on a forged payload)."""
    from reflex_components_sonner.toast import toast

    client_log(logging.ERROR, "event handler failed", describe_exception(exception))
    return toast(
        "An error occurred.",
        level="error",
        fallback_to_alert=True,
        description="Contact the website administrator.",
        position="top-center",
        id="backend_error",
        style={"width": "500px"},
    )


# --- Reflex's own records that repeat what a client sent -----------------------------------------

# Loggers whose warnings and errors name the client's event, payload or headers.
CLIENT_FACING_LOGGERS = (
    "reflex.app",
    "reflex.state",
    "reflex_base.event.processor.event_processor",
    "reflex_base.event.processor.base_state_processor",
)


class _ThroughClientLog(logging.Filter):
    """Writes a Reflex warning or error through client_log instead (one line, capped, limited)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.name == log.name:
            return True
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + describe_exception(record.exc_info[1])
        client_log(record.levelno, record.name, text)
        return False


_filter = _ThroughClientLog()


def install() -> None:
    """Route Reflex's client-facing records through the limiter (idempotent)."""
    for name in CLIENT_FACING_LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
