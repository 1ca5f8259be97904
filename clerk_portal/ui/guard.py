"""Who is asking, and may they? One guard for every event handler, background task and API route.

Reflex lets the browser call any registered handler by name with any arguments, so the UI hiding a
button proves nothing: each protected handler is wrapped by `requires_role(...)`, which resolves the
caller from the server-side session behind the HttpOnly cookie (sent with the websocket handshake,
never serialised to the browser) and the caller's *current* membership, on every call. A refused
call changes no state, writes nothing and calls nobody: it only returns a message or a redirect.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode

from clerk_portal.auth import principals
from clerk_portal.auth.principals import Principal, Staff  # pages name them guard.Principal
from clerk_portal.auth.sessions import SESSION_COOKIE
from clerk_portal.billing.gateway import interactive_calls
from clerk_portal.core import routes

OWNER = frozenset({"owner"})
TEAM_MANAGERS = frozenset({"owner", "admin"})
ANY_MEMBER = frozenset({"owner", "admin", "member"})
# Clerk Chat staff (sales reps): not a workspace role; from the identity provider (auth.accounts).
STAFF = frozenset({"sales"})

NOT_SIGNED_IN = "Please sign in again: your session has ended."
BILLING_OWNERS_ONLY = "Only workspace owners can manage billing."
TEAM_MANAGERS_ONLY = "Only workspace owners and admins can manage the team and numbers."
STAFF_ONLY = "Only Clerk Chat sales staff can build and send quotes."


class AccessDenied(Exception):
    def __init__(self, message: str, *, signed_in: bool) -> None:
        super().__init__(message)
        self.message = message
        self.signed_in = signed_in


def cookie_value(cookie_header: str | None, name: str) -> str | None:
    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def principal_for_token(token: str | None, *, touch: bool = True) -> Principal | None:
    """The caller behind a session cookie, checked against the current membership (blocking)."""
    return principals.principal_for_token(token=token, touch=touch)


def session_token_of(state) -> str | None:
    """The session cookie from the websocket handshake of this browser tab."""
    return cookie_value(state.router.headers.cookie, SESSION_COOKIE)


async def current_principal(state, *, touch: bool = True) -> Principal | None:
    return await asyncio.to_thread(principal_for_token, session_token_of(state), touch=touch)


async def current_staff(state, *, touch: bool = True) -> Staff | None:
    token = session_token_of(state)
    return await asyncio.to_thread(principals.staff_for_token, token=token, touch=touch)


async def _caller(state, roles: frozenset[str], touch: bool) -> Principal | Staff:
    if roles == STAFF:
        staff = await current_staff(state, touch=touch)
        if staff is None:
            signed_in = session_token_of(state) is not None and (
                await asyncio.to_thread(principals.session_alive, token=session_token_of(state))
            )
            raise AccessDenied(STAFF_ONLY if signed_in else NOT_SIGNED_IN, signed_in=signed_in)
        return staff
    return check_role(await current_principal(state, touch=touch), roles)


def check_role(principal: Principal | None, roles: frozenset[str]) -> Principal:
    if principal is None:
        raise AccessDenied(NOT_SIGNED_IN, signed_in=False)
    if principal.role not in roles:
        message = BILLING_OWNERS_ONLY if roles == OWNER else TEAM_MANAGERS_ONLY
        raise AccessDenied(message, signed_in=True)
    return principal


# The principal of the handler call in progress (set by the guard, read by the handler).
_current: contextvars.ContextVar[Principal | Staff] = contextvars.ContextVar("principal")


def principal() -> Principal:
    """Inside a guarded handler: who called it (already checked)."""
    who = _current.get()
    assert isinstance(who, Principal)
    return who


def staff() -> Staff:
    """Inside a `staff_only` handler: the staff member who called it (already checked)."""
    who = _current.get()
    assert isinstance(who, Staff)
    return who


def login_redirect(state):
    """To sign-in, back to this page afterwards; "session ended" only if there was a session."""
    import reflex as rx

    query = {"next": routes.safe_return_path(state.router.url.path)}
    if session_token_of(state):
        query["reason"] = "session_ended"
    return rx.redirect(f"{routes.LOGIN}?{urlencode(query)}")


def _refusal(state, denied: AccessDenied, *, quiet: bool = False):
    import reflex as rx

    if not denied.signed_in:
        return login_redirect(state)
    return None if quiet else rx.toast.error(denied.message)


def requires_role(roles: frozenset[str], *, quiet: bool = False, touch: bool = True) -> Callable:
    """Wrap an event handler (coroutine, async generator or background task) in the guard.

    `quiet`: a page loader refuses signed-in people without a toast (the page itself says who
    may see it); everything else about the refusal is the same. `touch=False`: the call is not
    the person's activity (a live reload the server started), so it checks the session without
    moving its idle deadline.
    """

    def decorate(handler: Callable) -> Callable:
        if inspect.isasyncgenfunction(handler):

            @functools.wraps(handler)
            async def guarded_generator(self, *args, **kwargs):
                try:
                    who = await _caller(self, roles, touch)
                except AccessDenied as denied:
                    yield _refusal(self, denied, quiet=quiet)
                    return
                token = _current.set(who)
                try:
                    with interactive_calls():  # a person waits: Stripe's short timeout
                        async for update in handler(self, *args, **kwargs):
                            yield update
                finally:
                    _current.reset(token)

            guarded = guarded_generator
        else:

            @functools.wraps(handler)
            async def guarded_call(self, *args, **kwargs):
                try:
                    who = await _caller(self, roles, touch)
                except AccessDenied as denied:
                    return _refusal(self, denied, quiet=quiet)
                token = _current.set(who)
                try:
                    with interactive_calls():  # a person waits: Stripe's short timeout
                        result = handler(self, *args, **kwargs)
                        return await result if inspect.isawaitable(result) else result
                finally:
                    _current.reset(token)

            guarded = guarded_call
        guarded.__guard_roles__ = roles
        guarded.__guard_quiet__ = quiet
        guarded.__guard_touch__ = touch
        return guarded

    return decorate


def public_handler(handler: Callable) -> Callable:
    """Mark a handler as deliberately public: it reads or changes only what its own tab shows,
    or (contact sales) accepts a form anyone may send. Tests list every such handler by name."""
    handler.__public_handler__ = True
    return handler


owner_only = requires_role(OWNER)
owner_page_loader = requires_role(OWNER, quiet=True)
team_managers_only = requires_role(TEAM_MANAGERS)
members_only = requires_role(ANY_MEMBER)
staff_only = requires_role(STAFF)
staff_page_loader = requires_role(STAFF, quiet=True)
# A page body's live reload: started by the tab's watcher, not by the person.
members_following_live = requires_role(ANY_MEMBER, touch=False)
