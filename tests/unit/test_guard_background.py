"""The guard on background handlers: checked on every call, and `guard.principal()` is the
caller's across the awaits of the handler (Stripe calls, `async with self` blocks), also while
another tab's handler for someone else runs interleaved with it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from clerk_portal.ui import guard


def _person(user_id: int, workspace_id: int, role: str) -> guard.Principal:
    return guard.Principal(
        user_id=user_id,
        user_name=f"User {user_id}",
        user_email=f"u{user_id}@x.example",
        workspace_id=workspace_id,
        workspace_name=f"W{workspace_id}",
        role=role,
    )


OWNERS = {
    "tok-olivia": _person(1, 10, "owner"),
    "tok-omar": _person(2, 20, "owner"),
    "tok-mia": _person(3, 10, "member"),
}


class Tab(SimpleNamespace):
    """What the guard reads of a state (a StateProxy in a background task): the router."""

    def __init__(self, token: str | None) -> None:
        cookie = f"clerk_session={token}" if token else ""
        super().__init__(
            router=SimpleNamespace(
                headers=SimpleNamespace(cookie=cookie), url=SimpleNamespace(path="/billing")
            )
        )


@pytest.fixture(autouse=True)
def sessions(monkeypatch):
    monkeypatch.setattr(guard, "SESSION_COOKIE", "clerk_session")
    monkeypatch.setattr(
        guard, "principal_for_token", lambda token, touch=True: OWNERS.get(token or "")
    )


def _who() -> tuple[int, int]:
    who = guard.principal()
    return who.user_id, who.workspace_id


@guard.owner_only
async def slow_generator(self, seen: list, gate: asyncio.Event):
    seen.append(("start", _who()))
    await gate.wait()  # Stripe answers later; another task runs meanwhile
    seen.append(("after stripe", _who()))
    yield "done"
    await asyncio.sleep(0)
    seen.append(("after yield", _who()))


@guard.owner_only
async def slow_coroutine(self, gate: asyncio.Event):
    await gate.wait()
    return _who()


def _principal_or_none():
    try:
        return guard.principal()
    except LookupError:
        return None


async def _drain(generator) -> list:
    return [update async for update in generator]


async def test_each_background_generator_keeps_its_own_caller_across_awaits():
    gate_olivia, gate_omar = asyncio.Event(), asyncio.Event()
    seen_olivia: list = []
    seen_omar: list = []
    # Reflex runs each background event in a task of its own, as here.
    olivia = asyncio.create_task(
        _drain(slow_generator(Tab("tok-olivia"), seen_olivia, gate_olivia))
    )
    omar = asyncio.create_task(_drain(slow_generator(Tab("tok-omar"), seen_omar, gate_omar)))
    await asyncio.sleep(0.05)
    gate_omar.set()  # Omar's Stripe answers first
    await omar
    gate_olivia.set()
    assert await olivia == ["done"]

    assert [who for _, who in seen_olivia] == [(1, 10)] * 3
    assert [who for _, who in seen_omar] == [(2, 20)] * 3
    assert _principal_or_none() is None  # nothing leaks to the caller's context


async def test_each_background_coroutine_keeps_its_own_caller():
    gates = [asyncio.Event(), asyncio.Event()]
    tasks = [
        asyncio.create_task(slow_coroutine(Tab(token), gate))
        for token, gate in zip(("tok-olivia", "tok-omar"), gates, strict=True)
    ]
    await asyncio.sleep(0.05)
    gates[1].set()
    gates[0].set()
    assert await asyncio.gather(*tasks) == [(1, 10), (2, 20)]


async def test_a_background_handler_refuses_without_running_its_body():
    seen: list = []
    gate = asyncio.Event()
    gate.set()
    signed_out = await _drain(slow_generator(Tab(None), seen, gate))
    member = await _drain(slow_generator(Tab("tok-mia"), seen, gate))

    assert seen == []  # neither reached Stripe
    assert "/login" in str(signed_out)
    assert guard.BILLING_OWNERS_ONLY in str(member)
    assert await slow_coroutine(Tab("tok-mia"), gate) is not None
    assert _principal_or_none() is None
