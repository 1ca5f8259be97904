"""Bounds on anonymous sign-in starts: each GET /auth/login writes a login attempt row.

Attempts live 10 minutes (`sessions.LOGIN_ATTEMPT_LIFETIME`); expired ones are deleted whenever a
sign-in starts, so the table holds at most MAX_LIVE_ATTEMPTS rows. One client may start
PER_CLIENT.count sign-ins in 10 minutes; past either bound the route answers 429.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlmodel import Session, col, delete, func, select
from starlette.requests import Request

from clerk_portal.auth.sessions import LOGIN_ATTEMPT_LIFETIME
from clerk_portal.core import rate_limit
from clerk_portal.core.db import session_scope
from clerk_portal.models import LoginAttempt, utcnow

PER_CLIENT = rate_limit.Limit("sign_in", count=30, seconds=600)
MAX_LIVE_ATTEMPTS = 2000
REASON = "too_many_sign_ins"


def prune_expired(session: Session, *, now: datetime | None = None) -> int:
    """Delete attempts past their lifetime; returns how many are still live."""
    cutoff = (now or utcnow()) - LOGIN_ATTEMPT_LIFETIME
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.created_at) < cutoff))
    return session.exec(select(func.count()).select_from(LoginAttempt)).one()


def _room_for_another() -> bool:
    with session_scope() as session:
        return prune_expired(session) < MAX_LIVE_ATTEMPTS


async def refusal(request: Request) -> str | None:
    """None when this sign-in may start (expired attempts are cleaned first), else the reason
    for the 429 page."""
    client = rate_limit.client_ip(
        request.client.host if request.client else None, request.headers.get("x-forwarded-for")
    )
    if await rate_limit.take([(PER_CLIENT, client)]):
        return REASON
    if not await asyncio.to_thread(_room_for_another):
        return REASON
    return None
