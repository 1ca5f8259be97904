"""Wait for a condition, not for a time: poll it until it holds, and fail at a deadline.

`eventually(condition)` from plain code, `await eventually_async(condition)` from a coroutine
(`condition` may then be a coroutine function too). Both return the condition's last (truthy)
value, and raise AssertionError naming `what` (and the last value seen) when the deadline passes.
A wait for something that can signal (a thread's Condition, an asyncio Event) should wait on
that instead; this is for state polled from another process (the sandbox, a database, a log).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

# `every`: seconds between polls, or a function of the last value giving them (a costly
# condition polled more gently as it grows).
Every = float | Callable[[Any], float]


class _Deadline:
    def __init__(self, timeout: float, what: str) -> None:
        self.end = time.monotonic() + timeout
        self.timeout = timeout
        self.what = what

    def passed(self, last: Any) -> bool:
        if time.monotonic() < self.end:
            return False
        raise AssertionError(
            f"not within {self.timeout:g} s: {self.what} (last seen: {last!r:.500})"
        )


def eventually(
    condition: Callable[[], Any], *, within: float = 10.0, every: Every = 0.05, what: str = ""
) -> Any:
    deadline = _Deadline(within, what or getattr(condition, "__name__", "condition"))
    while not (value := condition()) and not deadline.passed(value):
        time.sleep(_seconds(every, value))  # between polls: nothing signals this condition
    return value


async def eventually_async(
    condition: Callable[[], Any], *, within: float = 10.0, every: Every = 0.05, what: str = ""
) -> Any:
    deadline = _Deadline(within, what or getattr(condition, "__name__", "condition"))
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value or deadline.passed(value):
            return value
        await asyncio.sleep(_seconds(every, value))  # between polls: nothing signals this condition


def _seconds(every: Every, value: Any) -> float:
    return every(value) if callable(every) else every
