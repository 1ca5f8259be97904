"""Sign-in, sign-out and demo sign-in: HTTP routes on the backend (Starlette).

Cookies: the session id (HttpOnly, SameSite=Lax, Secure over https) and, during sign-in only, a
handle on the server-side record of state, nonce and PKCE verifier. State-changing routes accept
only requests from the portal's own origins (cross-site request forgery).
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Literal, TypedDict
from urllib.parse import urlencode

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from clerk_portal.auth import accounts, login_limits, sessions
from clerk_portal.auth.oidc import Identity, LoginRequest, OIDCClient, OIDCError
from clerk_portal.core import routes
from clerk_portal.core.db import session_scope
from clerk_portal.core.settings import Settings, get_settings
from clerk_portal.models import User

log = logging.getLogger(__name__)

FRIENDLY_REASONS = {
    "provider_unavailable": "The sign-in service is not answering right now. Please try again "
    "in a minute.",
    "provider_misconfigured": "Sign-in is not set up correctly. Please tell your administrator.",
    "state_mismatch": "That sign-in link was not started from this browser. Please sign in again.",
    "login_expired": "That sign-in took too long or was already used. Please sign in again.",
    "nonce_mismatch": "The sign-in could not be verified. Please sign in again.",
    "id_token_expired": "The sign-in had expired by the time it reached us. Please try again.",
    "wrong_audience": "The sign-in was meant for another application. Please sign in again.",
    "invalid_id_token": "The sign-in could not be verified. Please sign in again.",
    "token_exchange_failed": "The sign-in service refused to finish the sign-in. Please try again.",
    "access_denied": "Sign-in was cancelled.",
    "not_configured": "Single sign-on is not configured for this portal.",
    "forbidden_origin": "That request did not come from this portal, so it was ignored.",
    "unknown_demo_person": "Choose the owner, the admin, the member or sales to sign in as.",
    "demo_not_seeded": "The demo workspace is not set up yet: run `make run` once.",
    login_limits.REASON: "Too many sign-ins were started from here in the last few minutes. "
    "Please wait a few minutes, then sign in again.",
}
DEMO_PEOPLE = ("owner", "admin", "member", accounts.DEMO_SALES_SUBJECT)


def oidc_client(settings: Settings) -> OIDCClient | None:
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    return _client_for(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        settings.portal_url + routes.AUTH_CALLBACK,
    )


_clients: dict[tuple[str, str, str | None, str], OIDCClient] = {}


def _client_for(issuer: str, client_id: str, secret: str | None, redirect_uri: str) -> OIDCClient:
    key = (issuer, client_id, secret, redirect_uri)
    if key not in _clients:  # keep discovery and keys cached between sign-ins
        _clients[key] = OIDCClient(
            issuer=issuer, client_id=client_id, client_secret=secret, redirect_uri=redirect_uri
        )
    return _clients[key]


class _CookieOptions(TypedDict):
    httponly: bool
    samesite: Literal["lax", "strict", "none"]
    secure: bool


def _cookie_options(settings: Settings) -> _CookieOptions:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": settings.portal_url.startswith("https://"),
    }


def auth_error_page(reason: str, status_code: int = 400) -> HTMLResponse:
    message = FRIENDLY_REASONS.get(reason, "Sign-in did not work. Please try again.")
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in problem · Clerk Chat</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;
color:#1c2024}}a{{color:#3e63dd}}</style></head><body>
<h1>We could not sign you in</h1><p id="auth-error" data-reason="{html.escape(reason)}">
{html.escape(message)}</p><p><a href="{routes.LOGIN}">Back to sign-in</a></p></body></html>"""
    return HTMLResponse(body, status_code=status_code)


def same_origin(request: Request, settings: Settings) -> bool:
    """True when a state-changing request comes from one of the portal's own pages."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer", "")
        origin = "/".join(referer.split("/")[:3]) if referer else None
    return origin is not None and origin.rstrip("/") in settings.cors_origins


async def login(request: Request) -> Response:
    settings = get_settings()
    client = oidc_client(settings)
    if client is None:
        return auth_error_page("not_configured", 404)
    if reason := await login_limits.refusal(request):  # each start writes a row: bounded
        return auth_error_page(reason, 429)
    try:
        attempt = await client.begin()
    except OIDCError as error:
        log.warning("sign-in could not start: %s", error.reason)
        return auth_error_page(error.reason, 503)
    return_to = routes.safe_return_path(request.query_params.get("next"))
    handle = await asyncio.to_thread(_save_attempt, attempt, return_to)
    response = RedirectResponse(attempt.url, status_code=302)
    response.set_cookie(
        sessions.LOGIN_COOKIE,
        handle,
        max_age=int(sessions.LOGIN_ATTEMPT_LIFETIME.total_seconds()),
        path="/auth",
        **_cookie_options(settings),
    )
    return response


async def callback(request: Request) -> Response:
    settings = get_settings()
    client = oidc_client(settings)
    if client is None:
        return auth_error_page("not_configured", 404)
    taken = await asyncio.to_thread(_take_attempt, request.cookies.get(sessions.LOGIN_COOKIE))
    if request.query_params.get("error"):
        return _clear_login_cookie(auth_error_page("access_denied"))
    expected, return_to = taken if taken else (None, routes.HOME)
    try:
        identity = await client.finish(
            code=request.query_params.get("code", ""),
            returned_state=request.query_params.get("state", ""),
            expected=expected,
        )
    except OIDCError as error:
        log.info("sign-in refused: %s", error.reason)
        return _clear_login_cookie(auth_error_page(error.reason))
    previous = request.cookies.get(sessions.SESSION_COOKIE)
    token, held_back, staff_only = await asyncio.to_thread(
        _start_session, identity, settings, previous
    )
    if staff_only and return_to == routes.HOME:  # a rep in no workspace: the sales page
        return_to = routes.SALES
    if held_back:
        log.info("sign-in: %d invitation(s) held back, email not verified", held_back)
        response: Response = invitation_held_back_page(identity.email, return_to)
    else:
        response = RedirectResponse(return_to, status_code=303)
    _set_session_cookie(response, token, settings)
    return _clear_login_cookie(response)


def invitation_held_back_page(email: str, continue_to: str) -> HTMLResponse:
    """Signed in, but an invitation for this email was not accepted: say why and what to do."""
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Invitation not accepted · Clerk Chat</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;
color:#1c2024}}a{{color:#3e63dd}}</style></head><body>
<h1>You are signed in, but your invitation was not accepted</h1>
<p id="invitation-notice" data-reason="email_not_verified">A workspace invitation is waiting for
{html.escape(email)}, but your identity provider has not verified that this email address is
yours, so we did not add you to that workspace. Ask your identity provider (or your IT
administrator) to verify your email address, then sign in again.</p>
<p><a id="continue" href="{html.escape(continue_to)}">Continue to the portal</a></p>
</body></html>"""
    return HTMLResponse(body)


def _save_attempt(attempt: LoginRequest, return_to: str) -> str:
    with session_scope() as session:
        return sessions.save_login_attempt(session, request=attempt, return_to=return_to)


def _take_attempt(handle: str | None) -> tuple[LoginRequest, str] | None:
    with session_scope() as session:
        return sessions.take_login_attempt(session, handle=handle)


def _revoke(token: str | None) -> None:
    with session_scope() as session:
        sessions.revoke_session(session, token=token)


def _start_session(
    identity: Identity, settings: Settings, previous: str | None
) -> tuple[str, int, bool]:
    """The new session's token, how many invitations were held back (email unverified), and
    whether it is a staff session in no workspace."""
    with session_scope() as session:
        signed_in = accounts.complete_sign_in(session, identity=identity)
        assert signed_in.user.id is not None  # complete_sign_in flushes the user
        token = sessions.rotate_session(
            session,
            previous_token=previous,
            user_id=signed_in.user.id,
            workspace_id=signed_in.workspace_id,
            policy=sessions.SessionPolicy.from_settings(settings),
        )
        return token, signed_in.invitations_held_back, signed_in.workspace_id is None


def _set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        sessions.SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
        **_cookie_options(settings),
    )


def _clear_login_cookie(response: Response) -> Response:
    response.delete_cookie(sessions.LOGIN_COOKIE, path="/auth")
    return response


async def logout(request: Request) -> Response:
    settings = get_settings()
    if not same_origin(request, settings):
        return auth_error_page("forbidden_origin", 403)
    await asyncio.to_thread(_revoke, request.cookies.get(sessions.SESSION_COOKIE))
    response = RedirectResponse(
        f"{routes.LOGIN}?{urlencode({'reason': 'signed_out'})}", status_code=303
    )
    response.delete_cookie(sessions.SESSION_COOKIE, path="/")
    return response


async def demo_sign_in(request: Request) -> Response:
    """Demo mode only (the route is not even registered in production)."""
    settings = get_settings()
    if not same_origin(request, settings):
        return auth_error_page("forbidden_origin", 403)
    person = (await request.form()).get("as")
    if person not in DEMO_PEOPLE:
        return auth_error_page("unknown_demo_person")
    previous = request.cookies.get(sessions.SESSION_COOKIE)
    token = await asyncio.to_thread(_demo_session, str(person), settings, previous)
    if token is None:
        return auth_error_page("demo_not_seeded", 409)
    # lands by role (pages/home.py); the sales persona on the sales page
    landing = routes.SALES if person == accounts.DEMO_SALES_SUBJECT else routes.HOME
    response = RedirectResponse(landing, status_code=303)
    _set_session_cookie(response, token, settings)
    return response


def _demo_session(person: str, settings: Settings, previous: str | None) -> str | None:
    """Demo people are seeded members (no invitation, no email claim to trust)."""
    with session_scope() as session:
        user = session.exec(
            select(User).where(User.issuer == accounts.DEMO_ISSUER, User.subject == person)
        ).first()
        if user is None or user.id is None:
            return None
        workspaces = accounts.user_workspaces(session, user_id=user.id)
        if not workspaces and not accounts.is_staff(user):
            return None
        return sessions.rotate_session(
            session,
            previous_token=previous,
            user_id=user.id,
            workspace_id=workspaces[0][0].id if workspaces else None,
            policy=sessions.SessionPolicy.from_settings(settings),
        )


def auth_routes(settings: Settings) -> list[Route]:
    table = [
        Route(routes.AUTH_LOGIN, login, methods=["GET"]),
        Route(routes.AUTH_CALLBACK, callback, methods=["GET"]),
        Route(routes.AUTH_LOGOUT, logout, methods=["POST"]),
    ]
    if settings.is_demo:
        table.append(Route(routes.AUTH_DEMO, demo_sign_in, methods=["POST"]))
    return table
