"""The waiting tabs of one backend worker, by workspace: woken by the worker's one subscription.

A waiting tab is one asyncio future in a set: it costs nothing until a change of its workspace
is heard (`deliver`) or the subscription (re)connects (`wake_all`: messages may have been lost
while it was down, so everyone re-reads once). A woken tab reads the version once, and the tabs
of a workspace woken together share that read. A quiet wait ends at its timeout with no read.

`shared` does the same for what a woken tab reads next (its session, its role, the trial, the
page's rows): one read per workspace, version and key for the tabs woken after the same change.
The version is the one the tab just read, so a shared read always started after that version was
committed (a tab never shows rows older than the version it records); a session check is shared
only while it runs (a sign-out publishes nothing, so a finished check is never reused).

`heard` keeps, per workspace, the highest version published since the subscription connected:
a tab that read its version just before a change and starts waiting just after it sees that it
is behind, instead of sleeping through the change. Delivery is thread-safe (a commit may publish
from a worker thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

# How long a shared read (`Waiters.shared`) serves the tabs woken after it started, at most.
SHARED_SECONDS = 2.0

T = TypeVar("T")

# After a (re)connect, waits that start within this long read the version once before waiting:
# their tab may have read it before a change that the subscription did not hear.
FRESH_SECONDS = 2.0

_SUPERSEDED = -1  # a wake value: a newer wait of the same tab took over
_UNHEARD = object()


class Superseded(Exception):
    """A newer wait of the same tab started: this one ends (its watcher stops)."""


class Waiters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_workspace: dict[int, set[asyncio.Future[int]]] = {}
        self._by_tab: dict[str, tuple[int, asyncio.Future[int]]] = {}  # tab: (rank, its wait)
        self._heard: dict[int, int | None] = {}  # None: a change of unknown version
        self._wakes = 0  # wakes so far (a shared read serves the wakes before it started)
        self._reads: dict[int, tuple[int, asyncio.Task[int]]] = {}
        self._fresh_until = 0.0
        self.delivered = 0  # changes heard so far (for tests and benchmarks)
        # Reads shared by the tabs a wake woke (`shared`): per workspace, by key, the change
        # count they were started at and their task; a newer change of the workspace ends them.
        self._changes: dict[int, int] = {}
        self._epoch = 0  # every (re)connect: a change of any workspace may have been missed
        self._shared: dict[int, dict[object, tuple[tuple[int, int], float, asyncio.Task[Any]]]] = {}
        self.shared_reads = 0  # reads `shared` actually ran (for tests and benchmarks)

    # --- the subscription's side ---------------------------------------------------------------

    def deliver(self, workspace_id: int, version: int | None) -> None:
        """A change of the workspace was published (version None: unknown)."""
        with self._lock:
            before = self._heard.get(workspace_id, _UNHEARD)
            if version is None or before is None:
                self._heard[workspace_id] = None
            elif before is _UNHEARD or version > before:  # type: ignore[operator]
                self._heard[workspace_id] = version
            self._wakes += 1
            self.delivered += 1
            self._changes[workspace_id] = self._changes.get(workspace_id, 0) + 1
            self._shared.pop(workspace_id, None)
            wake, futures = self._wakes, list(self._by_workspace.get(workspace_id, ()))
        for future in futures:
            _resolve(future, wake)

    def wake_all(self) -> None:
        """The subscription (re)connected: whatever was published meanwhile is unknown."""
        with self._lock:
            self._heard.clear()
            self._epoch += 1
            self._shared.clear()
            self._fresh_until = time.monotonic() + FRESH_SECONDS
            self._wakes += 1
            wake = self._wakes
            futures = [future for group in self._by_workspace.values() for future in group]
        for future in futures:
            _resolve(future, wake)

    def waiting(self, workspace_id: int | None = None) -> int:
        """How many tabs wait (on one workspace, or in all)."""
        with self._lock:
            if workspace_id is not None:
                return len(self._by_workspace.get(workspace_id, ()))
            return sum(len(group) for group in self._by_workspace.values())

    # --- the tab's side ------------------------------------------------------------------------

    async def shared(
        self,
        workspace_id: int,
        version: int,
        key: Hashable,
        read: Callable[[], Awaitable[T]],
        *,
        max_age: float = SHARED_SECONDS,
        while_running: bool = False,
    ) -> T:
        """`read()`, or the result of the same read (`key`) that another tab of this worker
        started for the same workspace `version`, after the workspace's latest change heard and
        less than `max_age` seconds ago (`while_running`: only while that read still runs).

        What a woken tab reads again (its session, its role, the trial, the page's rows) is
        the same for every tab of the workspace woken by that change: one read serves them all,
        instead of one each. `version` is the one the calling tab read: a read started by a tab
        that had read it began after that version was committed, so it is never older than what
        the caller records (a tab that read a newer version, not heard yet, reads anew). A change
        heard since (or a reconnect) starts a new read; so does age, for what changes without a
        published version. A session check passes `while_running`: a sign-out publishes nothing,
        so a check that ended may already be wrong. The read runs in a context of its own: no
        tab's contextvars (its principal) reach it."""
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        with self._lock:
            stamp = (self._epoch, self._changes.get(workspace_id, 0))
            reads = self._shared.setdefault(workspace_id, {})
            found = reads.get((version, key))
            if found is None or not _serves(found, stamp, now, max_age, loop, while_running):
                for old in [k for k, (_, at, _t) in reads.items() if now - at > SHARED_SECONDS]:
                    del reads[old]  # earlier wakes' reads go as new ones start
                task = loop.create_task(_awaited(read), context=contextvars.Context())
                found = (stamp, now, task)
                reads[(version, key)] = found
                self.shared_reads += 1
        return cast(T, await asyncio.shield(found[2]))

    async def wait(
        self,
        workspace_id: int,
        since: int,
        timeout: float,  # noqa: ASYNC109 - a long-poll's own deadline
        read: Callable[[int], Awaitable[int]],
        *,
        tab: str | None = None,
        rank: int = 0,
    ) -> int:
        """The version once it may differ from `since` (read once), or `since` at the timeout.

        `tab`, `rank`: one wait per tab; a wait of a higher or equal rank ends the tab's current
        one, and one of a lower rank ends at once (`Superseded` in both cases)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = False  # read once already in this call (the fresh window is then served)
        while True:
            with self._lock:
                heard = self._heard.get(workspace_id, _UNHEARD)
                behind = heard is None or (heard is not _UNHEARD and heard > since)  # type: ignore[operator]
                fresh = not checked and time.monotonic() < self._fresh_until
                wake = self._wakes
                future: asyncio.Future[int] | None = None
                if not (behind or fresh):
                    future = loop.create_future()
                    self._register(workspace_id, future, tab, rank)
            if future is not None:
                try:
                    async with asyncio.timeout_at(deadline):
                        wake = await future
                except TimeoutError:
                    return since  # a quiet wait: nothing read
                finally:
                    self._unregister(workspace_id, future, tab)
                if wake == _SUPERSEDED:
                    raise Superseded
            version = await self._read_once(workspace_id, wake, read)
            if version != since:
                return version
            checked = True
            with self._lock:  # nothing new for this tab: what was heard is not news (a reset)
                if behind and _same(self._heard.get(workspace_id, _UNHEARD), heard):
                    self._heard[workspace_id] = version
            if loop.time() >= deadline:
                return since

    def _register(
        self, workspace_id: int, future: asyncio.Future[int], tab: str | None, rank: int
    ) -> None:
        self._by_workspace.setdefault(workspace_id, set()).add(future)
        if tab is None:
            return
        previous = self._by_tab.get(tab)
        if previous is not None and previous[0] > rank:
            future.set_result(_SUPERSEDED)  # a newer watcher of the tab already waits
            return
        self._by_tab[tab] = (rank, future)
        if previous is not None:
            _resolve(previous[1], _SUPERSEDED)

    def _unregister(self, workspace_id: int, future: asyncio.Future[int], tab: str | None) -> None:
        with self._lock:
            group = self._by_workspace.get(workspace_id)
            if group is not None:
                group.discard(future)
                if not group:
                    del self._by_workspace[workspace_id]
            if tab is not None and (mine := self._by_tab.get(tab)) and mine[1] is future:
                del self._by_tab[tab]

    async def _read_once(
        self, workspace_id: int, wake: int, read: Callable[[int], Awaitable[int]]
    ) -> int:
        """One read of the version for every tab of the workspace woken by `wake` or earlier.

        A read that started after the tab's wake serves it even once finished: on a busy loop
        the first woken tabs' read may end before the last ones get here, and a read started
        after their wake saw the change that woke them (only a failed read is not kept)."""
        with self._lock:
            shared = self._reads.get(workspace_id)
            if (
                shared is None
                or shared[0] < wake
                or shared[1].get_loop() is not _loop()
                or _failed(shared[1])
            ):
                task = asyncio.ensure_future(read(workspace_id))
                shared = (self._wakes, task)
                self._reads[workspace_id] = shared
        return await asyncio.shield(shared[1])


async def _awaited(read: Callable[[], Awaitable[T]]) -> T:
    return await read()


def _failed(task: asyncio.Task[Any]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _serves(
    found: tuple[tuple[int, int], float, asyncio.Task[Any]],
    stamp: tuple[int, int],
    now: float,
    max_age: float,
    loop: asyncio.AbstractEventLoop,
    while_running: bool,
) -> bool:
    """Whether a shared read may serve a tab asking now (`Waiters.shared`)."""
    started_at, at, task = found
    if started_at != stamp or now - at > max_age or task.get_loop() is not loop:
        return False
    return not (task.done() and (while_running or _failed(task)))


def _same(a: object, b: object) -> bool:
    return a is b or (isinstance(a, int) and isinstance(b, int) and a == b)


def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def _resolve(future: asyncio.Future[int], value: int) -> None:
    """Wake a waiting future from any thread (its loop may be gone: then nobody waits)."""

    def resolve() -> None:
        if not future.done():
            future.set_result(value)

    with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits
        future.get_loop().call_soon_threadsafe(resolve)
