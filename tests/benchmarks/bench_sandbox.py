"""Benchmark the Stripe sandbox through the official SDK over HTTP.

Run: ``.venv/bin/python tests/benchmarks/bench_sandbox.py [--seconds 5] [--concurrency 8]``

Starts ``python -m clerk_portal.sandbox`` as a subprocess, then measures with the async
``StripeClient`` (httpx) and ``--concurrency`` concurrent callers:

- simple reads: ``customers.retrieve`` and ``prices.list`` (limit 10);
- subscription updates: a seat quantity change on a two-item subscription (with prorations).

It prints requests/s for each. The client and the server share this machine's cores, so the
numbers are a lower bound for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import stripe

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.sandbox import start_sandbox  # noqa: E402


async def measure(
    name: str, call: Callable[[int], Awaitable[object]], seconds: float, concurrency: int
) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < deadline:
            await call(index * 1_000_000 + n)
            n += 1
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    rate = done / (time.perf_counter() - started)
    print(f"{name:<34} {rate:8.1f} req/s  ({done} requests, concurrency {concurrency})")
    return rate


async def run(seconds: float, concurrency: int) -> dict[str, float]:
    sandbox = start_sandbox()
    try:
        client = sandbox.client()
        seat = await client.v1.prices.create_async(
            {
                "product_data": {"name": "Seat"},
                "unit_amount": 2900,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        )
        number = await client.v1.prices.create_async(
            {
                "product_data": {"name": "Number"},
                "unit_amount": 1000,
                "currency": "usd",
                "recurring": {"interval": "month"},
            }
        )
        customer = await client.v1.customers.create_async({"email": "bench@example.com"})
        await client.v1.payment_methods.attach_async("pm_card_visa", {"customer": customer.id})
        pms = await client.v1.payment_methods.list_async({"customer": customer.id})
        subs = []
        for _ in range(concurrency):
            subs.append(
                await client.v1.subscriptions.create_async(
                    {
                        "customer": customer.id,
                        "default_payment_method": pms.data[0].id,
                        "items": [
                            {"price": seat.id, "quantity": 3},
                            {"price": number.id, "quantity": 1},
                        ],
                    }
                )
            )
        seat_items = [next(i for i in s["items"].data if i.price.id == seat.id) for s in subs]

        async def retrieve(_: int) -> object:
            return await client.v1.customers.retrieve_async(customer.id)

        async def list_prices(_: int) -> object:
            return await client.v1.prices.list_async({"limit": 10})

        async def update(n: int) -> object:
            index = (n // 1_000_000) % len(subs)
            return await client.v1.subscriptions.update_async(
                subs[index].id,
                {"items": [{"id": seat_items[index].id, "quantity": 3 + n % 7}]},
            )

        print(f"sandbox at {sandbox.url}; {seconds:.0f} s per measurement")
        return {
            "retrieve_customer": await measure(
                "reads: customers.retrieve", retrieve, seconds, concurrency
            ),
            "list_prices": await measure("reads: prices.list", list_prices, seconds, concurrency),
            "update_subscription": await measure(
                "writes: subscriptions.update", update, seconds, concurrency
            ),
        }
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    stripe.enable_telemetry = False
    asyncio.run(run(args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
