"""Benchmark the billing engine against the sandbox: webhook ingest and service latencies.

Run: ``.venv/bin/python tests/benchmarks/bench_billing.py [--database-url URL] [--events 1000]``

Starts the sandbox as a subprocess, migrates a database (a temporary SQLite file by default) and
measures, with the real SDK over HTTP:

- webhook ingest: signed events through the Starlette route (verify, INSERT ... ON CONFLICT, 200),
  with processing switched off: events/s for store + ack (8 concurrent senders);
- webhook processing: the stored events applied by the worker (`process_pending`), each re-reading
  its object from Stripe and writing the mirror: events/s;
- service latencies (median and p95): `complete_upgrade` (SetupIntent check, default card,
  subscription create, mirror), `sync_quantities` (one member added, one Stripe update) and
  `load_overview` (the billing page's read; no Stripe call).

Client, sandbox and database share this machine's cores: the numbers are lower bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.benchmarks.portal_setup import (  # noqa: E402
    configure_portal,
    confirm_card,
    new_owner_workspace,
)
from tests.support.sandbox import SECRET_KEY, start_sandbox  # noqa: E402

WEBHOOK_SECRET = "whsec_bench_0123456789"


def signed(body: bytes) -> str:
    t = int(time.time())
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256)
    return f"t={t},v1={digest.hexdigest()}"


def summary(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"{name:<28} median {1000 * statistics.median(ordered):7.1f} ms   "
        f"p95 {1000 * p95:7.1f} ms   (n={len(ordered)})"
    )


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def bench(database_url: str, events: int, workspaces: int) -> None:
    from clerk_portal.billing import webhooks
    from clerk_portal.billing.read_models.overview import load_overview
    from clerk_portal.billing.services import quantities, upgrade
    from clerk_portal.billing.webhooks import route as webhook_route
    from clerk_portal.core.db import in_db
    from clerk_portal.core.settings import get_settings
    from clerk_portal.workspace import repository

    sandbox = start_sandbox()
    try:
        browser = await configure_portal(sandbox, database_url, WEBHOOK_SECRET)

        # --- complete_upgrade -------------------------------------------------------------
        upgrade_times, ids = [], []
        for n in range(workspaces):
            workspace_id, owner_id = new_owner_workspace(f"u{n}", name=f"Bench {n}")
            start = await upgrade.start_upgrade(
                workspace_id=workspace_id, plan="business", interval="month"
            )
            await asyncio.to_thread(confirm_card, browser, start)
            upgrade_times.append(
                await timed(
                    lambda w=workspace_id, o=owner_id, s=start: upgrade.complete_upgrade(
                        workspace_id=w,
                        actor_user_id=o,
                        setup_intent_id=s.setup_intent_id,
                        plan="business",
                        interval="month",
                    )
                )
            )
            ids.append(workspace_id)

        # --- sync_quantities --------------------------------------------------------------
        sync_times = []
        for n in range(3 * workspaces):
            workspace_id = ids[n % len(ids)]
            await in_db(
                lambda s, w=workspace_id, n=n: repository.add_member(
                    s, workspace_id=w, email=f"m{n}@bench.example"
                )
            )
            sync_times.append(
                await timed(lambda w=workspace_id: quantities.sync_quantities(workspace_id=w))
            )

        # --- load_overview ----------------------------------------------------------------
        overview_times = []
        for n in range(200):
            workspace_id = ids[n % len(ids)]
            overview_times.append(await timed(lambda w=workspace_id: load_overview(w)))

        # --- webhook ingest (store + ack), processing off ---------------------------------
        templates = await _stripe_events(sandbox.url)
        bodies = []
        for n in range(events):
            event = dict(templates[n % len(templates)])
            event["id"] = f"evt_bench_{n:06d}"
            bodies.append(json.dumps(event).encode())
        from starlette.applications import Starlette

        app = Starlette(routes=webhooks.webhook_routes())
        real_dispatch = webhook_route.dispatch
        webhook_route.dispatch = lambda *_a, **_k: None  # type: ignore[assignment]
        semaphore = asyncio.Semaphore(8)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:

            async def send(body: bytes) -> None:
                async with semaphore:
                    response = await client.post(
                        "/stripe/webhook", content=body, headers={"Stripe-Signature": signed(body)}
                    )
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(send(body) for body in bodies))
            ingest = len(bodies) / (time.perf_counter() - started)
        webhook_route.dispatch = real_dispatch  # type: ignore[assignment]

        # --- webhook processing (the worker) -----------------------------------------------
        started = time.perf_counter()
        applied = 0
        while True:
            done = await webhooks.process_pending(limit=200)
            applied += done
            if done == 0:
                break
        processing = applied / (time.perf_counter() - started)

        print(f"database: {get_settings().sqlalchemy_url.split('?')[0]}")
        print(f"{'webhook ingest (store+ack)':<28} {ingest:8.1f} events/s ({len(bodies)} events)")
        print(f"{'webhook processing':<28} {processing:8.1f} events/s ({applied} events)")
        summary("complete_upgrade", upgrade_times)
        summary("sync_quantities", sync_times)
        summary("load_overview", overview_times)
    finally:
        sandbox.stop()


async def _stripe_events(base_url: str) -> list[dict[str, Any]]:
    """Real events (JSON as the sandbox sends them) of the subscriptions made above."""
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{base_url}/v1/events",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )
        response.raise_for_status()
        interesting = ("customer.subscription.", "invoice.", "payment_method.", "customer.updated")
        return [e for e in response.json()["data"] if e["type"].startswith(interesting)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--workspaces", type=int, default=20)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    for noisy in ("stripe", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, _scratch(args.database_url) as url:
        asyncio.run(bench(url or f"sqlite:///{tmp}/bench.db", args.events, args.workspaces))


@contextlib.contextmanager
def _scratch(url: str | None):
    """PostgreSQL: a schema of its own, dropped afterwards (the database is left as it was)."""
    if not url or not url.startswith("postgresql"):
        yield url
        return
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(url).set(drivername="postgresql+psycopg")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    main()
