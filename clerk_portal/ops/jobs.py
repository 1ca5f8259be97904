"""The deployment's periodic work, run once whatever the number of backend workers.

Every worker starts `run_jobs_forever` (the app's one lifespan task); the runner that holds the
job lease (`ops.lease`: an advisory lock on PostgreSQL, a row on SQLite) runs the jobs, the
others wait to take the lease over when its holder dies or goes silent. The holder renews the
lease `RENEWALS_PER_LEASE` times per lease time, beside the jobs, and confirms it before starting
each job; when a renewal fails the running job is cancelled (as a crash would stop it: every job
is safe to stop and to run again) and the runner goes back to waiting. A job that raises or
overruns its timeout is logged; the loop goes on.

The jobs (`JOBS`): each runs again `every` seconds after its last run ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from clerk_portal.billing import reconcile, webhooks
from clerk_portal.billing.services.plan_change import apply_due_changes
from clerk_portal.billing.services.quantities import sync_dirty_accounts
from clerk_portal.core.settings import get_settings
from clerk_portal.ops.lease import Lease, lease_for

log = logging.getLogger("clerk_portal.ops.jobs")
RENEWALS_PER_LEASE = 3


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds from the end of one run to the start of the next
    run: Callable[[], Awaitable[object]]
    first_after: float = 0.0  # seconds after the lease is taken
    timeout: float = 600.0


JOBS: tuple[Job, ...] = (
    # The inbox's safety net: events whose in-process processing was lost or failed.
    Job("webhook inbox", 5, webhooks.process_pending),
    # Quantity syncs whose task was lost, or deferred by the hourly budget.
    Job("quantity syncs", 60, sync_dirty_accounts),
    Job("due plan changes", 60, apply_due_changes),
    # One page of the accounts due (changed or unseen for a while), paced under Stripe's limit.
    Job("reconcile", 300, reconcile.reconcile_job, first_after=300),
)


async def run_jobs_forever(jobs: Sequence[Job] = JOBS, *, lease: Lease | None = None) -> None:
    """Hold the lease and run the due jobs; without the lease, wait to take it over. Register
    as the app's lifespan task; cancelled at shutdown (the lease is released then)."""
    lease = lease or lease_for(get_settings().sqlalchemy_url)
    retry = lease.seconds / RENEWALS_PER_LEASE
    try:
        while True:
            try:
                taken = await lease.acquire()
            except Exception:  # the database is away: try again later
                log.exception("job lease %s: acquiring failed", lease.name)
                taken = False
            if taken:
                log.info("job lease %s taken by %s", lease.name, lease.holder)
                await _while_held(lease, jobs)
                log.warning("job lease %s lost by %s", lease.name, lease.holder)
            await asyncio.sleep(retry)
    finally:
        with contextlib.suppress(Exception):
            await lease.release()


async def _while_held(lease: Lease, jobs: Sequence[Job]) -> None:
    """Run the jobs beside the heartbeat until a renewal fails."""
    runner = asyncio.create_task(_run_due_jobs(lease, jobs))
    try:
        while True:
            done, _ = await asyncio.wait({runner}, timeout=lease.seconds / RENEWALS_PER_LEASE)
            if done:  # the runner found the lease lost before a job
                return
            try:
                if not await lease.renew():
                    return
            except Exception:
                log.exception("job lease %s: renewal failed", lease.name)
                return
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


async def _run_due_jobs(lease: Lease, jobs: Sequence[Job]) -> None:
    start = time.monotonic()
    due = {job.name: start + job.first_after for job in jobs}
    while True:
        for job in jobs:
            if due[job.name] <= time.monotonic() and lease.held():
                # Confirmed just before: a lease lost since the last heartbeat (a connection
                # closed, a row taken over) starts nothing more.
                if not await lease.renew():
                    return
                await run_job(job)
                due[job.name] = time.monotonic() + job.every
        # Not held (a late heartbeat): look again soon; the heartbeat decides whether it is lost.
        wait = min(due.values()) - time.monotonic() if lease.held() else 0.1
        await asyncio.sleep(max(0.01, wait))


async def run_job(job: Job) -> bool:
    """One run; a failure is logged, never raised. Returns whether it completed."""
    try:
        async with asyncio.timeout(job.timeout):
            await job.run()
    except TimeoutError:
        log.error("job %s: still running after %g s, stopped", job.name, job.timeout)
        return False
    except Exception:
        log.exception("job %s failed", job.name)
        return False
    return True
