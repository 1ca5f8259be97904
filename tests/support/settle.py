"""Wait until the running portal has taken in every webhook the sandbox is sending it.

The portal syncs the catalog at start and the sandbox announces it with events, which the portal's
inbox stores and applies in the background. Tests that compare database snapshots wait for that
first, so the inbox's own writes are not mistaken for theirs.
"""

from __future__ import annotations

import time

import httpx
import sqlalchemy as sa

from clerk_portal.db import engine_for
from clerk_portal.models import WebhookEvent
from clerk_portal.settings import SANDBOX_SECRET_KEY


def webhooks_settled(portal, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = httpx.get(
            f"{portal.sandbox_url}/v1/events",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"},
            timeout=10,
        ).json()["data"]
        hooks = httpx.get(f"{portal.sandbox_url}/_sandbox/webhooks", timeout=10).json()
        # An event is done once delivered, or once the sandbox gave up on it (the portal was
        # still building when the catalog sync announced itself).
        done = {
            d["event"]
            for d in hooks["deliveries"]
            if (d["status"] and 200 <= d["status"] < 300)
            or d["attempt"] >= hooks["config"]["max_attempts"]
        }
        with engine_for(portal.database_url).connect() as connection:
            pending = connection.execute(
                sa.select(sa.func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.processed_at.is_(None))
            ).scalar_one()
        in_flight = (
            {event["id"] for event in events} - done if hooks["config"].get("url") else set()
        )
        if not in_flight and pending == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the portal did not take in the sandbox's webhooks in time")
