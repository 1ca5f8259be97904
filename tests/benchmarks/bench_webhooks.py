"""Benchmark `POST /stripe/webhook` over HTTP: a burst of signed events, acked and applied.

Run: ``.venv/bin/python tests/benchmarks/bench_webhooks.py [--database-url URL] [--redis-url URL]
[--events 2000] [--concurrency 16] [--workspaces 10] [--port 4400]``

What runs, each in a process of its own, on this machine:

- the Stripe sandbox (``python -m clerk_portal.sandbox``);
- **the portal's backend** as Reflex serves it in production (``uvicorn --factory
  clerk_portal.clerk_portal:app``, which is what ``reflex run --env prod --backend-only`` starts):
  the real app with its API routes, its lifespan tasks (the webhook worker, the billing jobs) and,
  with ``--redis-url``, Reflex's state in Redis; the compiled frontend is not built (it plays no
  part in a webhook); one backend worker;
- **a bare route** in the same run: a Starlette app whose ``POST /stripe/webhook`` verifies the
  signature with the same `verify_webhook` and the same secret, then answers 200 (no database).

The workspaces are real (upgraded through the services against the sandbox, team changes and
a month advanced on their test clocks), and the burst is made of their real events as the sandbox
sends them (JSON from ``/v1/events``), cycled with fresh event ids up to ``--events``: several
events per object, as a renewal or a team change sends them. The client signs each body with the
endpoint secret the portal is configured with (`Stripe-Signature`, HMAC-SHA256, as Stripe does)
and keeps ``--concurrency`` requests in flight.

Printed: acked events/s (the burst's events over the time until the last answer), applied
events/s (the burst's events over the time until the inbox shows all of them processed, polled
every 50 ms), the ack latency p50/p99/max, and the Stripe reads the portal made for the burst
(from the sandbox's request log). Client, sandbox, database and portal share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import stripe

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.ports import wait_for_http  # noqa: E402
from tests.support.sandbox import PUBLISHABLE_KEY, SECRET_KEY, start_sandbox  # noqa: E402
from tests.support.webhooks import signature  # noqa: E402

WEBHOOK_SECRET = "whsec_bench_webhooks_0123456789"
HANDLED_PREFIXES = ("customer.subscription.", "invoice.", "payment_method.", "customer.")

BARE_APP = """
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clerk_portal.billing.gateway import SignatureError, verify_webhook
from clerk_portal.core.settings import get_settings


async def receive(request: Request) -> JSONResponse:
    payload = await request.body()
    try:
        secret = get_settings().webhook_secret
        verify_webhook(payload, request.headers.get("stripe-signature"), secret)
    except SignatureError as error:
        return JSONResponse({"error": str(error)}, 400)
    return JSONResponse({"received": True})


app = Starlette(routes=[Route("/stripe/webhook", receive, methods=["POST"])])
"""


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def prepare(events: int, workspaces: int, sandbox_url: str) -> list[bytes]:
    """Workspaces with real subscriptions, and `events` bodies made of their events."""
    from clerk_portal.billing.catalog import get_catalog
    from clerk_portal.billing.catalog_sync import sync_catalog
    from clerk_portal.billing.gateway import StripeGateway
    from clerk_portal.billing.services import quantities, upgrade
    from clerk_portal.core.db import in_db, session_scope
    from clerk_portal.demo.clock import A_MONTH, advance_demo_clock
    from clerk_portal.models import User
    from clerk_portal.workspace import repository

    async with StripeGateway.from_settings() as gateway:
        await sync_catalog(gateway, get_catalog())
    browser = stripe.StripeClient(
        PUBLISHABLE_KEY, base_addresses={"api": sandbox_url}, max_network_retries=0
    )
    for n in range(workspaces):
        with session_scope() as session:
            user = User(issuer="bench", subject=f"u{n}", email=f"o{n}@bench.example", name="O")
            session.add(user)
            session.flush()
            ws = repository.create_workspace(
                session, name=f"Bench {n}", owner_email=user.email, owner_user_id=user.id
            )
            workspace_id, owner_id = ws.id, user.id
        start = await upgrade.start_upgrade(
            workspace_id=workspace_id, plan="business", interval="month"
        )
        await asyncio.to_thread(
            browser.v1.setup_intents.confirm,
            start.setup_intent_id,
            {
                "client_secret": start.client_secret,
                "payment_method_data": {"type": "card", "card": {"number": "4242424242424242"}},
            },
        )
        await upgrade.complete_upgrade(
            workspace_id=workspace_id,
            actor_user_id=owner_id,
            setup_intent_id=start.setup_intent_id,
            plan="business",
            interval="month",
        )
        await in_db(
            lambda s, w=workspace_id, n=n: repository.add_member(
                s, workspace_id=w, email=f"m{n}@bench.example"
            )
        )
        await quantities.sync_quantities(workspace_id=workspace_id)
        await advance_demo_clock(workspace_id=workspace_id, days=A_MONTH)  # past the draft hour
    await quantities.flush_quantity_syncs()
    templates = await _events(sandbox_url)
    bodies = []
    for n in range(events):
        event = dict(templates[n % len(templates)])
        event["id"] = f"evt_burst_{n:06d}"
        bodies.append(json.dumps(event).encode())
    objects = {json.loads(b)["data"]["object"].get("id") for b in bodies}
    print(f"burst: {len(bodies)} events of {len(templates)} real events, {len(objects)} objects")
    return bodies


async def _events(base_url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 100}
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            response = await client.get(
                f"{base_url}/v1/events",
                params=query,
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
            )
            response.raise_for_status()
            page = response.json()
            found += page["data"]
            if not page["has_more"] or not page["data"]:
                break
            query["starting_after"] = page["data"][-1]["id"]
    found.reverse()  # oldest first, as they were sent
    return [event for event in found if event["type"].startswith(HANDLED_PREFIXES)]


async def burst(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    """Post every body with `concurrency` in flight; (seconds to the last answer, latencies)."""
    latencies: list[float] = []
    retried: list[int] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def sender() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                began = time.perf_counter()
                for attempt in range(3):  # a kept-alive connection the server closed meanwhile
                    try:
                        response = await client.post(
                            url,
                            content=body,
                            headers={"Stripe-Signature": signature(body, WEBHOOK_SECRET)},
                        )
                        break
                    except httpx.TransportError:
                        if attempt == 2:
                            raise
                        retried.append(1)
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        if retried:
            print(f"{url}: {len(retried)} request(s) sent again after a transport error")
        return time.perf_counter() - started, latencies


def processed_count(prefix: str = "evt_burst_") -> int:
    import sqlalchemy as sa

    from clerk_portal.core.db import session_scope
    from clerk_portal.models import WebhookEvent

    with session_scope() as session:
        return session.execute(
            sa.select(sa.func.count())
            .select_from(WebhookEvent)
            .where(
                WebhookEvent.stripe_event_id.startswith(prefix),  # type: ignore[attr-defined]
                WebhookEvent.processed_at.is_not(None),  # type: ignore[union-attr]
            )
        ).scalar_one()


def retried_summary(prefix: str = "evt_burst_") -> str:
    """The burst's events that needed more than one attempt, and why (a slow "applied" is
    often a retry waiting out its backoff)."""
    import sqlalchemy as sa

    from clerk_portal.core.db import session_scope
    from clerk_portal.models import WebhookEvent

    with session_scope() as session:
        rows = session.execute(
            sa.select(WebhookEvent.attempts, WebhookEvent.last_error).where(
                WebhookEvent.stripe_event_id.startswith(prefix),  # type: ignore[attr-defined]
                WebhookEvent.attempts > 1,  # type: ignore[operator]
            )
        ).all()
    if not rows:
        return "no event needed a second attempt"
    reasons = sorted({(error or "")[:120] for _, error in rows})[:3]
    return f"{len(rows)} event(s) needed more than one attempt: " + " | ".join(reasons)


def serve(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("w")
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def row(
    name: str, seconds: float, latencies: list[float], applied: float | None, reads: str
) -> str:
    ordered = sorted(latencies)
    acked = len(latencies) / seconds
    applied_text = f"{applied:9.1f}" if applied is not None else f"{'-':>9}"
    return (
        f"| {name:<16} | {acked:8.1f} | {applied_text} | {1000 * statistics.median(ordered):7.1f}"
        f" | {1000 * percentile(ordered, 0.99):7.1f} | {1000 * ordered[-1]:7.1f} | {reads:>12} |"
    )


async def bench(args: argparse.Namespace, database_url: str, tmp: Path) -> None:
    from clerk_portal.core.settings import get_settings
    from clerk_portal.ops import migrations

    sandbox = start_sandbox(port=args.port + 1)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
        env |= {
            "PORTAL_MODE": "demo",
            "DATABASE_URL": database_url,
            "STRIPE_API_BASE": sandbox.url,
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PORT": str(args.port),
            "REFLEX_TELEMETRY_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
        }
        if args.redis_url:
            env["REDIS_URL"] = args.redis_url
        os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
        get_settings.cache_clear()
        migrations.upgrade(get_settings().sqlalchemy_url)
        bodies = await prepare(args.events, args.workspaces, sandbox.url)

        uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--no-access-log"]
        uvicorn += ["--log-level", "warning", "--timeout-keep-alive", "60"]
        bare_file = tmp / "bare_webhook_app.py"
        bare_file.write_text(BARE_APP)
        bare = serve(
            [*uvicorn, "--port", str(args.port + 2), "--app-dir", str(tmp), "bare_webhook_app:app"],
            env,
            tmp / "bare.log",
        )
        processes.append(bare)
        portal = serve(
            [*uvicorn, "--port", str(args.port), "--factory", "clerk_portal.clerk_portal:app"],
            env,
            tmp / "portal.log",
        )
        processes.append(portal)
        for port, process, log in ((args.port + 2, bare, "bare"), (args.port, portal, "portal")):
            try:
                url = f"http://127.0.0.1:{port}/" + ("healthz" if log == "portal" else "")
                wait_for_http(url, timeout=300, is_alive=lambda p=process: p.poll() is None)
            except BaseException:
                print((tmp / f"{log}.log").read_text()[-4000:])
                raise

        rows = []
        # The bare route first (a warm-up of the client too), then the portal.
        seconds, latencies = await burst(
            f"http://127.0.0.1:{args.port + 2}/stripe/webhook", bodies, args.concurrency
        )
        rows.append(row("bare verify+200", seconds, latencies, None, "-"))

        sandbox.control("DELETE", "requests")
        started = time.perf_counter()
        seconds, latencies = await burst(
            f"http://127.0.0.1:{args.port}/stripe/webhook", bodies, args.concurrency
        )
        applied_at = None
        deadline = time.perf_counter() + args.apply_timeout  # after the burst's last answer
        while time.perf_counter() < deadline:
            done = await asyncio.to_thread(processed_count)
            if done >= len(bodies):
                applied_at = time.perf_counter() - started
                break
            await asyncio.sleep(0.05)
        reads = [
            entry
            for entry in sandbox.requests_log("/v1/")
            if entry["method"] == "GET" and not entry["path"].startswith("/v1/events")
        ]
        applied = len(bodies) / applied_at if applied_at else None
        if applied_at is None:
            done = processed_count()
            applied = done / (time.perf_counter() - started)
            print(f"not all applied within {args.apply_timeout:.0f} s: {done} (rate of those)")
        rows.append(row("portal", seconds, latencies, applied, str(len(reads))))
        print(await asyncio.to_thread(retried_summary))

        shown = database_url.split("?")[0].split("@")[-1]
        print(
            f"\ndatabase: {shown}   redis: {args.redis_url or 'no'}   events: {len(bodies)}"
            f"   concurrency: {args.concurrency}   workspaces: {args.workspaces}"
        )
        print(
            f"| {'route':<16} | {'acked/s':>8} | {'applied/s':>9} | {'ack p50':>7} | "
            f"{'ack p99':>7} | {'ack max':>7} | {'Stripe reads':>12} |"
        )
        print(f"|{'-' * 18}|{'-' * 10}|{'-' * 11}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 14}|")
        for line in rows:
            print(line)
        print("(latencies in ms; Stripe reads: GETs the portal made to the sandbox for the burst)")
        errors = [line for line in (tmp / "portal.log").read_text().splitlines() if "Error" in line]
        if errors:
            print(f"portal log: {len(errors)} error line(s), e.g. {errors[0][:200]}")
    finally:
        for process in processes:
            stop(process)
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--redis-url", help="Reflex's state in Redis (as with several workers)")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--port", type=int, default=4400, help="portal; +1 sandbox, +2 bare")
    parser.add_argument("--apply-timeout", type=float, default=300)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    for noisy in ("stripe", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from tests.benchmarks.bench_billing import _scratch

    with tempfile.TemporaryDirectory() as tmp, _scratch(args.database_url) as url:
        asyncio.run(bench(args, url or f"sqlite:///{tmp}/bench.db", Path(tmp)))


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    main()
