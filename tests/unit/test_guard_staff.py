"""The staff guard (`guard.staff_only`): only Clerk Chat staff run a sales handler; a workspace
owner is refused with a message, an anonymous caller is sent to sign in, and the handler's body
never runs for either."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from clerk_portal.auth.principals import Staff
from clerk_portal.ui import guard

STAFF = {"tok-sam": Staff(user_id=7, user_name="Sam Rivera", user_email="sam@clerkchat.example")}
ALIVE = {"tok-sam", "tok-olivia"}  # Olivia: a workspace owner, signed in, not staff


class Tab(SimpleNamespace):
    def __init__(self, token: str | None) -> None:
        cookie = f"clerk_session={token}" if token else ""
        super().__init__(
            router=SimpleNamespace(
                headers=SimpleNamespace(cookie=cookie), url=SimpleNamespace(path="/sales")
            )
        )


@pytest.fixture(autouse=True)
def sessions(monkeypatch):
    monkeypatch.setattr(guard, "SESSION_COOKIE", "clerk_session")
    monkeypatch.setattr(
        guard.principals, "staff_for_token", lambda token, touch=True: STAFF.get(token or "")
    )
    monkeypatch.setattr(guard.principals, "session_alive", lambda token: token in ALIVE)


ran: list[str] = []


@guard.staff_only
async def create_quote(self):
    ran.append(guard.staff().user_name)
    return "created"


async def test_staff_run_the_handler():
    ran.clear()
    assert await create_quote(Tab("tok-sam")) == "created"
    assert ran == ["Sam Rivera"]


async def test_a_signed_in_non_staff_is_refused_with_a_message(monkeypatch):
    ran.clear()
    toasts = []
    monkeypatch.setattr(guard, "_refusal", lambda state, denied, quiet=False: toasts.append(denied))
    await create_quote(Tab("tok-olivia"))
    assert ran == []
    assert toasts[0].message == guard.STAFF_ONLY and toasts[0].signed_in


async def test_anonymous_and_ended_sessions_are_sent_to_sign_in(monkeypatch):
    ran.clear()
    refused = []
    monkeypatch.setattr(
        guard, "_refusal", lambda state, denied, quiet=False: refused.append(denied)
    )
    await create_quote(Tab(None))
    await create_quote(Tab("tok-ended"))
    assert ran == []
    assert [d.signed_in for d in refused] == [False, False]
    assert create_quote.__guard_roles__ == guard.STAFF == frozenset({"sales"})
