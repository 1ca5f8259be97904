"""Talk to the running portal's websocket the way a browser tab does, or the way an attacker can:
call any registered event handler by name with any arguments, and read the state deltas back."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

# Reflex serves its events on the Socket.IO namespace named after the endpoint path.
NAMESPACE = "/_event"
ROOT_STATE = "reflex___state____state"
HYDRATED = "is_hydrated_rx_state_"
# How long a background handler may take to send its first answer (a task that changes nothing
# sends none, and then costs all of it).
BACKGROUND_ANSWER_SECONDS = 2.0


@dataclass
class Reply:
    """Everything the server sent back for one event."""

    deltas: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def changed_vars(self, prefix: str = "") -> dict[str, Any]:
        """Substate vars that changed (optionally only substates whose name contains `prefix`)."""
        changed: dict[str, Any] = {}
        for delta in self.deltas:
            for substate, values in delta.items():
                if prefix in substate and values:
                    changed.update({f"{substate}.{name}": v for name, v in values.items()})
        return changed

    def var(self, name: str, prefix: str = "") -> Any:
        """The last value sent for the var `name` (of a substate whose name contains `prefix`),
        or None if none was."""
        found = None
        for key, value in self.changed_vars(prefix).items():
            if key.rsplit(".", 1)[-1].split("_rx_state_")[0] == name:
                found = value
        return found

    def toasts(self) -> list[str]:
        return [
            str(event.get("payload", {}))
            for event in self.events
            if "toast" in str(event.get("payload", {})) or "toast" in event.get("name", "")
        ]

    def redirects(self) -> list[str]:
        return [
            str(event.get("payload", {}).get("path", ""))
            for event in self.events
            if event.get("name") == "_redirect"
        ]


class ReflexSocket:
    def __init__(self, base_url: str, *, cookie: str | None = None, token: str | None = None):
        """`token`: the tab's client token, to reconnect as the same tab (a reload, a sign-in)."""
        self.base_url = base_url
        self.token = token or str(uuid.uuid4())
        self._client = socketio.Client(reconnection=False)
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._client.on("event", self._received, namespace=NAMESPACE)
        headers = {}  # websocket-client sends the page's own origin, as a browser tab would
        if cookie:
            headers["Cookie"] = cookie
        self._client.connect(
            f"{base_url}?token={self.token}",
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=[NAMESPACE],
            headers=headers,
            wait_timeout=10,
        )

    def _received(self, update: dict[str, Any]) -> None:
        with self._lock:
            self._updates.append(update)
            self._lock.notify_all()

    def _emit(self, handler: str, payload: dict[str, Any], path: str) -> None:
        self._client.emit(
            "event",
            {
                "name": handler,
                "payload": payload,
                "router_data": {"pathname": path, "asPath": path},
            },
            namespace=NAMESPACE,
        )

    def call(
        self,
        handler: str,
        payload: dict[str, Any] | None = None,
        *,
        path: str = "/billing",
        background: bool = False,
        until: Callable[[Reply], Any] | None = None,
        timeout: float = 60,
    ) -> Reply:
        """Send one event and collect what the server sent back for it.

        Reflex processes a tab's events in order and marks no reply as the last, so a barrier
        follows: a built-in event whose delta we recognise (the hydration flag, toggled).
        A background task answers on its own time, after the barrier would: its first answer (the
        guard's refusal comes at once) is awaited before the barrier is sent. Reflex sends nothing
        for a task that changed nothing, so that wait has a deadline (BACKGROUND_ANSWER_SECONDS).
        `until`: a background task that waits on Stripe answers in several messages; the barrier
        is sent once `until(what arrived so far)` holds (within `timeout` seconds).
        """
        with self._lock:
            self._updates.clear()
        self._emit(handler, payload or {}, path)
        if until is not None:
            with self._lock:
                held = self._lock.wait_for(lambda: bool(until(self._unlocked_reply())), timeout)
                if not held:
                    raise TimeoutError(f"{handler}: {self._unlocked_reply()!r:.2000}")
        elif background:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._updates), BACKGROUND_ANSWER_SECONDS)
        self._barrier = not getattr(self, "_barrier", False)
        self._emit(f"{ROOT_STATE}.set_is_hydrated", {"value": self._barrier}, path)

        def barrier_seen() -> bool:
            return any(self._is_barrier(update) for update in self._updates)

        with self._lock:
            done = self._lock.wait_for(barrier_seen, timeout=20)
            updates = list(self._updates)
        if not done:
            raise TimeoutError(f"no reply for {handler}: {updates!r:.2000}")
        reply = Reply()
        for update in updates:
            if self._is_barrier(update):
                break
            if update.get("delta"):
                reply.deltas.append(update["delta"])
            reply.events.extend(update.get("events") or [])
        return reply

    def send(self, handler: str, payload: dict[str, Any] | None = None, *, path: str = "/billing"):
        """Send one event without waiting: what arrives is read with `received` / `wait_for`
        (several events of one tab in flight at once, as a tab's clicks during a slow one)."""
        self._emit(handler, payload or {}, path)

    def received(self) -> Reply:
        """Everything the server sent since the last `call` (or since connecting)."""
        with self._lock:
            return self._unlocked_reply()

    def wait_for(self, condition, *, timeout: float, what: str = "the condition") -> Reply:
        """Wait until `condition(received())` holds; the reply it held for."""
        with self._lock:
            done = self._lock.wait_for(lambda: bool(condition(self._unlocked_reply())), timeout)
        reply = self.received()
        if not done:
            raise TimeoutError(f"{what} not seen within {timeout} s: {reply!r:.2000}")
        return reply

    def _unlocked_reply(self) -> Reply:
        reply = Reply()
        for update in self._updates:
            if update.get("delta"):
                reply.deltas.append(update["delta"])
            reply.events.extend(update.get("events") or [])
        return reply

    def _is_barrier(self, update: dict[str, Any]) -> bool:
        root = (update.get("delta") or {}).get(ROOT_STATE) or {}
        return root.get(HYDRATED) is self._barrier

    def close(self) -> None:
        self._client.disconnect()
