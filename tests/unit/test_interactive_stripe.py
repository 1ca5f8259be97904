"""Which patience a Stripe call gets: a person's click (every guarded handler, across the awaits
and yields of a background event) gets the short timeout and one retry; jobs, and tasks a click
leaves running (webhook pumps, deferred quantity syncs), keep the long one."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from clerk_portal.billing.gateway import current_gateway, detach_from_person
from clerk_portal.billing.gateway.default import JOB_RETRIES, JOB_TIMEOUT_SECONDS
from clerk_portal.core.settings import get_settings
from clerk_portal.ui import guard
from tests.unit.test_guard_background import OWNERS, Tab


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    monkeypatch.setattr(guard, "SESSION_COOKIE", "clerk_session")
    monkeypatch.setattr(
        guard, "principal_for_token", lambda token, touch=True: OWNERS.get(token or "")
    )
    monkeypatch.setenv("PORTAL_MODE", "demo")
    monkeypatch.setenv("STRIPE_INTERACTIVE_TIMEOUT_SECONDS", "9")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def patience() -> tuple[float | None, int | None]:
    gateway = current_gateway()
    return gateway.timeout, gateway.max_network_retries


@guard.owner_only
async def click(self, gate: asyncio.Event):
    before = patience()
    await gate.wait()  # Stripe answers later; other tasks run meanwhile
    return before, patience()


@guard.owner_only
async def background_click(self, seen: list):
    seen.append(patience())
    yield "working"
    await asyncio.sleep(0)
    seen.append(patience())
    context = contextvars.copy_context()
    context.run(detach_from_person)  # what the webhook pump and deferred syncs do
    seen.append(await asyncio.get_running_loop().create_task(_later(), context=context))


async def _later() -> tuple[float | None, int | None]:
    return patience()


async def test_a_guarded_click_gets_the_short_timeout_and_one_retry():
    gate = asyncio.Event()
    task = asyncio.create_task(click(Tab("tok-olivia"), gate))
    await asyncio.sleep(0.02)
    assert patience() == (JOB_TIMEOUT_SECONDS, JOB_RETRIES)  # meanwhile, outside the click
    gate.set()
    assert await task == ((9.0, 1), (9.0, 1))
    assert patience() == (JOB_TIMEOUT_SECONDS, JOB_RETRIES)  # nothing leaks to the caller


async def test_a_background_event_keeps_it_across_yields_and_its_detached_tasks_do_not():
    seen: list = []
    assert [u async for u in background_click(Tab("tok-olivia"), seen)] == ["working"]
    assert seen == [(9.0, 1), (9.0, 1), (JOB_TIMEOUT_SECONDS, JOB_RETRIES)]


async def test_the_interactive_timeout_is_bounded(monkeypatch):
    monkeypatch.setenv("STRIPE_INTERACTIVE_TIMEOUT_SECONDS", "0")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="STRIPE_INTERACTIVE_TIMEOUT_SECONDS"):
        get_settings()
