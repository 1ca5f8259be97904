"""Applying stored events, off the request: the route stores an event and wakes this process's
pump (`dispatch`); the pump claims due rows of the inbox in batches and applies them workspace by
workspace. `process_pending` is the same work for the safety net (a job of ops/jobs.py): due rows,
retries included.

One round for one workspace (`apply_workspace`): its claimed events grouped by the object their
handler reads (an invoice, a subscription, a customer), each object read from Stripe once for the
whole group, then the mirror, the activity entries and "processed" for every event written in
one transaction, which commits only if none of them was processed meanwhile (so each event is
applied once) and, as every mirror write, reads again when the mirror moved since
(`write_mirror`). Within a group the events are applied in Stripe's order (`created`, then
arrival), each with its own handler, from the one fresh read. The events of a workspace that
arrive while its round runs wait for its next round (so one object's events are applied in
order, and a burst's are coalesced), other workspaces run meanwhile (`LANES` at once).

A read that fails is recorded on its events and retried (`inbox.record_failure`: backoff, then
dead); the rest of the round is applied. A type without a handler, or an event for no workspace of
ours, is marked processed with no effect. After a subscription, invoice or invoice item event,
Stripe's preview of the next invoice is mirrored again, once per burst of events.

At least once: an event is claimed under a lease (`inbox.LEASE_SECONDS`) and marked processed in
the transaction that applies it. A worker that dies mid-round commits nothing of that round's
workspace; its rows are due again when the lease runs out (a cancelled pump gives its leases back
at once). `drain()` waits until this process's pump has nothing left to do (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from clerk_portal.billing.errors import NotFoundAtStripe
from clerk_portal.billing.gateway import BillingGateway, detach_from_person, gateway_or_default
from clerk_portal.billing.services.common import refresh_upcoming_invoice, write_mirror
from clerk_portal.billing.webhooks import checks, handlers, inbox
from clerk_portal.core.db import in_db
from clerk_portal.models import BillingAccount

log = logging.getLogger("clerk_portal.billing.webhooks.worker")
BATCH = 200  # rows claimed per query
MAX_HELD = 500  # rows one process holds claimed at once (the rest wait in the inbox)
# Workspaces applied at once. 4, not 8, on a 2-core machine: the acks share the event loop with
# the rounds, and bench_webhooks.py (2,000 events, PostgreSQL + Redis, quiet machine) gave ack
# p99 286 and 250 ms, 198 and 216 applied/s with 8; 228 and 199 ms, 229 and 264/s with 4 (SQLite
# with 4: 170 and 210 ms, 364/s).
LANES = 4
READS_AT_ONCE = 4  # Stripe reads at once within one workspace's round
LINGER_SECONDS = 0.02  # after a wake-up, for the rest of a burst to arrive
UPCOMING_DELAY_SECONDS = 0.3

_tasks: set[asyncio.Task[Any]] = set()
_upcoming_scheduled: set[tuple[asyncio.AbstractEventLoop, int]] = set()


@dataclass(frozen=True)
class Claimed:
    """A claimed event to apply: its row, its payload, its handler and the workspace's mirror
    version when it was claimed."""

    row_id: int
    event: dict[str, Any]
    handler: handlers.Handler[Any]
    workspace_id: int
    version: int

    @property
    def order(self) -> tuple[int, int]:
        return int(self.event.get("created") or 0), self.row_id


@dataclass
class Batch:
    """What one claim found: events to apply by workspace, and what was settled at once."""

    by_workspace: dict[int, list[Claimed]] = field(default_factory=dict)
    settled: int = 0  # ignored events marked processed in the claim's transaction
    refresh: set[int] = field(default_factory=set)  # workspaces whose next invoice changed

    @property
    def row_ids(self) -> list[int]:
        return [c.row_id for claimed in self.by_workspace.values() for c in claimed]


def _take(session: Session, row_ids: list[int]) -> Batch:
    """In the claim's transaction: read the claimed rows, settle what needs no Stripe read (dead
    on arrival, no handler, no workspace of ours, only the next invoice) and sort the rest."""
    batch = Batch()
    found = inbox.payloads(session, row_ids)
    accounts = handlers.workspaces_of(
        session, {c for c in map(handlers.customer_of, found.values()) if c}
    )
    ignored: dict[int | None, list[int]] = {}
    for row_id in row_ids:
        event = found.get(row_id)
        if event is None:
            continue
        problem = checks.unusable(event, handlers.refetched_id_prefixes())
        if problem:  # stored before the checks existed: retrying cannot help
            inbox.record_failure(session, row_id, problem, dead=True)
            continue
        handler = handlers.handler_for(str(event.get("type")))
        workspace_id, version = accounts.get(handlers.customer_of(event) or "", (None, 0))
        if workspace_id is None or handler is None or handler.fetch is None:
            ignored.setdefault(workspace_id, []).append(row_id)
            if workspace_id is not None and handler is not None and handler.changes_next_invoice:
                batch.refresh.add(workspace_id)
            continue
        batch.by_workspace.setdefault(workspace_id, []).append(
            Claimed(row_id, event, handler, workspace_id, version)
        )
    for workspace_id, ids in ignored.items():
        inbox.mark_all_processed(session, ids, workspace_id)
        batch.settled += len(ids)
    return batch


def _claim_due(session: Session, limit: int) -> Batch:
    return _take(session, inbox.claim_due(session, limit))


def _claim_one(session: Session, row_id: int, claimed: bool) -> Batch:
    return _take(session, [row_id] if inbox.claim(session, row_id, claimed) is not None else [])


# --- one workspace's round -----------------------------------------------------------------------

_GONE = object()  # the object was deleted at Stripe since: nothing left to mirror


@dataclass
class _Group:
    """The events of one round that read the same object."""

    claimed: list[Claimed]

    @property
    def first(self) -> Claimed:
        return self.claimed[0]


def _groups(claimed: Iterable[Claimed]) -> list[_Group]:
    found: dict[tuple[str, str] | None, _Group] = {}
    for one in claimed:
        key = one.handler.read_key(one.event)
        found.setdefault(key, _Group([])).claimed.append(one)
    for group in found.values():
        group.claimed.sort(key=lambda c: c.order)
    return list(found.values())


async def _read(groups: list[_Group], gateway: BillingGateway) -> list[Any]:
    """One read per group: the snapshot, `_GONE`, or the exception it failed with."""
    slots = asyncio.Semaphore(READS_AT_ONCE)

    async def one(group: _Group) -> Any:
        fetch = group.first.handler.fetch
        assert fetch is not None  # `_take` settles the events whose handler reads nothing
        obj = (group.first.event.get("data") or {}).get("object") or {}
        async with slots:
            try:
                return await fetch(obj, gateway)
            except NotFoundAtStripe:
                return _GONE
            except Exception as error:  # noqa: BLE001 - recorded on its events, retried
                return error

    return list(await asyncio.gather(*(one(group) for group in groups)))


def _error_text(error: BaseException) -> str:
    return getattr(error, "message", None) or f"{type(error).__name__}: {error}"


async def apply_workspace(
    workspace_id: int, claimed: list[Claimed], gateway: BillingGateway, version: int
) -> tuple[int, int | None]:
    """Apply these claimed events of one workspace (see the module's docstring); returns (how
    many were applied, the mirror version this round committed, None when it committed none)."""
    groups = _groups(claimed)
    try:
        applied, committed, failed = await _apply_groups(workspace_id, groups, gateway, version)
    except inbox.AlreadyProcessed:  # another worker applied some of them: one group at a time
        applied, committed, failed = 0, None, []
        for group in groups:
            try:
                done, at, lost = await _apply_groups(workspace_id, [group], gateway, version)
            except inbox.AlreadyProcessed:
                continue
            except Exception as error:  # noqa: BLE001 - recorded and retried, never lost
                failed.append((group, error))
                continue
            applied, committed, failed = applied + done, at or committed, failed + lost
    except Exception as error:  # noqa: BLE001 - a handler failed: find which, apply the rest
        if len(groups) == 1:
            applied, committed, failed = 0, None, [(groups[0], error)]
        else:
            applied, committed, failed = 0, None, []
            for group in groups:
                done, at = await apply_workspace(workspace_id, group.claimed, gateway, version)
                applied, committed = applied + done, at or committed
    if failed:
        await in_db(lambda session: _record_failures(session, failed))
    if any(c.handler.changes_next_invoice for c in claimed) and applied:
        _refresh_upcoming_soon(workspace_id, gateway)
    return applied, committed


async def _apply_groups(
    workspace_id: int, groups: list[_Group], gateway: BillingGateway, version: int
) -> tuple[int, int | None, list[tuple[_Group, BaseException]]]:
    snapshots = await _read(groups, gateway)

    async def again() -> list[Any]:
        return await _read(groups, gateway)

    def apply(
        session: Session, account: BillingAccount, snaps: list[Any]
    ) -> tuple[int, int, list[tuple[_Group, BaseException]]]:
        done: list[int] = []
        failed: list[tuple[_Group, BaseException]] = []
        created = account.last_event_created or 0
        for group, snap in zip(groups, snaps, strict=True):
            if isinstance(snap, BaseException):
                failed.append((group, snap))
                continue
            for one in group.claimed:
                if snap is not _GONE:
                    change = one.handler.apply
                    assert change is not None
                    change(session, account, snap)
                done.append(one.row_id)
                created = max(created, one.order[0])
        inbox.mark_all_processed(session, done, workspace_id)
        if created > (account.last_event_created or 0):
            account.last_event_created = created
            session.add(account)
        session.flush()
        now = session.execute(
            sa.select(BillingAccount.mirror_version).where(  # type: ignore[call-overload]
                col(BillingAccount.workspace_id) == workspace_id
            )
        ).scalar_one()
        return len(done), now, failed

    applied, committed, failed = await write_mirror(
        workspace_id, seen_version=version, first=snapshots, refetch=again, apply=apply
    )
    return applied, committed, failed


def _record_failures(session: Session, failed: list[tuple[_Group, BaseException]]) -> None:
    for group, error in failed:
        log.warning(
            "webhook event(s) %s failed: %s",
            ", ".join(str(c.event.get("id")) for c in group.claimed),
            _error_text(error),
        )
        for one in group.claimed:
            inbox.record_failure(session, one.row_id, _error_text(error))


def _refresh_upcoming_soon(workspace_id: int, gateway: BillingGateway) -> None:
    """One preview of the next invoice for a burst of events (a renewal sends a dozen), taken
    after them, off the event's own processing. A refresh already scheduled has not started
    yet, so it will read what this event committed."""
    key = (asyncio.get_running_loop(), workspace_id)
    if key in _upcoming_scheduled:
        return
    _upcoming_scheduled.add(key)

    async def later() -> None:
        await asyncio.sleep(UPCOMING_DELAY_SECONDS)
        _upcoming_scheduled.discard(key)
        try:
            await refresh_upcoming_invoice(workspace_id, gateway)
        except Exception:  # the next event refreshes it again
            log.exception("upcoming invoice of workspace %s not refreshed", workspace_id)

    _spawn(later())


def _spawn(coroutine: Any) -> asyncio.Task[Any]:
    # Webhook work is a job's, even when a click's task happens to start the pump.
    context = contextvars.copy_context()
    context.run(detach_from_person)
    task = asyncio.get_running_loop().create_task(coroutine, context=context)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


async def _apply_batch(batch: Batch, gateway: BillingGateway) -> int:
    """Every workspace of a batch, `LANES` at once; returns how many events were applied."""
    for workspace_id in batch.refresh:
        _refresh_upcoming_soon(workspace_id, gateway)
    slots = asyncio.Semaphore(LANES)

    async def lane(workspace_id: int, claimed: list[Claimed]) -> int:
        async with slots:
            version = max(c.version for c in claimed)
            return (await apply_workspace(workspace_id, claimed, gateway, version))[0]

    counts = await asyncio.gather(*(lane(w, c) for w, c in batch.by_workspace.items()))
    return batch.settled + sum(counts)


# --- the pump: this process's events, as they arrive ---------------------------------------------


class _Pump:
    """Claims due rows as the route wakes it and runs one lane per workspace (at most one round
    of a workspace at a time; what arrives meanwhile waits for its next round)."""

    def __init__(self, gateway: BillingGateway | None) -> None:
        self.gateway = gateway
        self.wake = asyncio.Event()
        self.quiet = asyncio.Event()
        self.waiting: dict[int, list[Claimed]] = {}
        self.versions: dict[int, int] = {}  # what the lane's last round committed
        self.lanes: dict[int, asyncio.Task[None]] = {}
        self.held: set[int] = set()  # claimed, not yet applied or failed
        self.slots = asyncio.Semaphore(LANES)
        self.full = False
        self.claiming = False
        self.progress = asyncio.Event()  # set (and replaced) whenever held rows are done
        self.task = _spawn(self.run())

    def poke(self) -> None:
        self.quiet.clear()
        self.wake.set()

    def _settle(self) -> None:
        if not (self.wake.is_set() or self.claiming or self.lanes or self.waiting):
            self.quiet.set()

    async def run(self) -> None:
        try:
            while True:
                self._settle()
                await self.wake.wait()
                await asyncio.sleep(LINGER_SECONDS)
                self.wake.clear()
                self.claiming = True
                try:
                    await self._claim()
                except Exception:  # the next wake-up, or the safety net, claims them again
                    log.exception("webhook claim failed")
                finally:
                    self.claiming = False
        except asyncio.CancelledError:
            await self._give_back()
            raise

    async def _claim(self) -> None:
        gateway = gateway_or_default(self.gateway)
        while (room := MAX_HELD - len(self.held)) > 0:
            batch = await in_db(lambda session: _claim_due(session, min(BATCH, room)))
            self._enqueue(batch, gateway)
            if not batch.row_ids and not batch.settled:
                self.full = False
                return
        self.full = True  # a lane finishing wakes the claim again

    def _enqueue(self, batch: Batch, gateway: BillingGateway) -> None:
        for workspace_id in batch.refresh:
            _refresh_upcoming_soon(workspace_id, gateway)
        self.held.update(batch.row_ids)
        for workspace_id, claimed in batch.by_workspace.items():
            self.waiting.setdefault(workspace_id, []).extend(claimed)
            if workspace_id not in self.lanes:
                self.lanes[workspace_id] = _spawn(self._lane(workspace_id, gateway))

    async def submit(self, batch: Batch) -> None:
        """Apply rows claimed elsewhere (the safety net) in this pump's lanes, behind what the
        lanes hold of the same workspaces; returns when they are done."""
        rows = set(batch.row_ids)
        self.quiet.clear()
        self._enqueue(batch, gateway_or_default(self.gateway))
        while rows & self.held and not self.task.done():
            await self.progress.wait()

    def _pulse(self) -> None:
        progress, self.progress = self.progress, asyncio.Event()
        progress.set()

    async def _lane(self, workspace_id: int, gateway: BillingGateway) -> None:
        try:
            async with self.slots:
                while claimed := self.waiting.pop(workspace_id, None):
                    version = max(
                        [c.version for c in claimed] + [self.versions.get(workspace_id, 0)]
                    )
                    try:
                        _, committed = await apply_workspace(
                            workspace_id, claimed, gateway, version
                        )
                    except Exception:  # leased: the safety net retries them
                        log.exception("webhook round of workspace %s failed", workspace_id)
                        committed = None
                    if committed is not None:
                        self.versions[workspace_id] = committed
                    self.held.difference_update(c.row_id for c in claimed)
                    self._pulse()
        finally:
            self.lanes.pop(workspace_id, None)
            self.versions.pop(workspace_id, None)
            if self.full:
                self.wake.set()
            self._settle()

    async def _give_back(self) -> None:
        lanes = list(self.lanes.values())
        for lane in lanes:
            lane.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        held = sorted(self.held)
        self.held.clear()
        self.waiting.clear()
        self._pulse()
        try:
            await in_db(lambda session: inbox.release(session, held))
        except Exception:  # their leases run out instead
            log.exception("webhook leases not given back")


_pumps: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pump] = weakref.WeakKeyDictionary()


def dispatch(row_id: int | None = None, gateway: BillingGateway | None = None) -> None:
    """A row was stored: wake this process's pump (started on first use). Returns at once."""
    loop = asyncio.get_running_loop()
    pump = _pumps.get(loop)
    if pump is None or pump.task.done():
        pump = _pumps[loop] = _Pump(gateway)
    pump.poke()


async def stop() -> None:
    """Stop this event loop's pump (shutdown): what it held and did not apply is due again."""
    pump = _pumps.pop(asyncio.get_running_loop(), None)
    if pump is not None and not pump.task.done():
        pump.task.cancel()
        await asyncio.gather(pump.task, return_exceptions=True)


async def drain() -> None:
    """Wait until this event loop's pump and background refreshes are done (tests, shutdown)."""
    loop = asyncio.get_running_loop()
    while True:
        pump = _pumps.get(loop)
        if pump is not None and not pump.task.done() and not pump.quiet.is_set():
            await pump.quiet.wait()
            continue
        pending = [task for task in _tasks if not task.done() and task.get_loop() is loop]
        pending = [task for task in pending if pump is None or task is not pump.task]
        if not pending:
            return
        await asyncio.gather(*pending, return_exceptions=True)


# --- one event, and the safety net -------------------------------------------------------------


async def process_event(
    row_id: int, *, gateway: BillingGateway | None = None, claimed: bool = False
) -> bool:
    """Claim (unless `claimed`) and apply one stored event; returns whether this call applied it."""
    batch = await in_db(lambda session: _claim_one(session, row_id, claimed))
    return await _apply_batch(batch, gateway_or_default(gateway)) > 0


async def process_pending(*, limit: int = 500, gateway: BillingGateway | None = None) -> int:
    """Process due inbox rows (unprocessed, unleased, backoff over); returns how many applied.
    Where this event loop has a pump, they go through its lanes (a workspace's rounds stay one
    at a time, in order)."""
    batch = await in_db(lambda session: _claim_due(session, limit))
    pump = _pumps.get(asyncio.get_running_loop())
    if pump is None or pump.task.done() or gateway not in (None, pump.gateway):
        return await _apply_batch(batch, gateway_or_default(gateway))
    await pump.submit(batch)
    ids = batch.row_ids
    return batch.settled + await in_db(lambda session: inbox.count_processed(session, ids))
