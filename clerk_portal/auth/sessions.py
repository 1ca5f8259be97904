"""Server-side sessions and sign-in attempts.

The browser holds only a random 256-bit id in an HttpOnly cookie; the database keeps its SHA-256, so
a copy of the table cannot be replayed as cookies. Sessions end after an idle timeout, an absolute
lifetime, sign-out, a new sign-in in the same browser, or when the member is removed from the
workspace.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select, update

from clerk_portal.auth.oidc import LoginRequest
from clerk_portal.core.settings import Settings
from clerk_portal.models import AuthSession, LoginAttempt, utcnow

SESSION_COOKIE = "clerk_session"
LOGIN_COOKIE = "clerk_login"
LOGIN_ATTEMPT_LIFETIME = timedelta(minutes=10)
# Writing last_seen on every websocket event would make every click a database write.
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        )


def create_session(
    session: Session,
    *,
    user_id: int,
    workspace_id: int | None,
    policy: SessionPolicy,
    now: datetime | None = None,
) -> str:
    """A new session for a user; returns the token for the cookie (never stored as such)."""
    now = now or utcnow()
    token = new_token()
    session.add(
        AuthSession(
            token_hash=_digest(token),
            user_id=user_id,
            workspace_id=workspace_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.absolute,
        )
    )
    session.flush()
    return token


def resolve_session(
    session: Session, *, token: str | None, policy: SessionPolicy, now: datetime | None = None
) -> AuthSession | None:
    """The live session for a cookie, or None (unknown, revoked, idle or past its lifetime)."""
    if not token:
        return None
    now = now or utcnow()
    record = session.exec(
        select(AuthSession).where(AuthSession.token_hash == _digest(token))
    ).first()
    if record is None or record.revoked_at is not None:
        return None
    if now >= _aware(record.expires_at) or now - _aware(record.last_seen_at) >= policy.idle:
        record.revoked_at = now
        session.add(record)
        return None
    if now - _aware(record.last_seen_at) >= _TOUCH_EVERY:
        record.last_seen_at = now
        session.add(record)
    return record


def set_workspace(session: Session, *, record: AuthSession, workspace_id: int) -> None:
    record.workspace_id = workspace_id
    session.add(record)


def revoke_session(session: Session, *, token: str | None) -> int:
    """End the session a cookie names (sign-out, or a new sign-in in that browser)."""
    if not token:
        return 0
    result = session.exec(
        update(AuthSession)
        .where(
            col(AuthSession.token_hash) == _digest(token),
            col(AuthSession.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def rotate_session(
    session: Session,
    *,
    previous_token: str | None,
    user_id: int,
    workspace_id: int | None,
    policy: SessionPolicy,
) -> str:
    """A new session for a sign-in, and the end of the one this browser held before: a copy of
    the old cookie (a shared computer, a leaked log) is worth nothing afterwards."""
    revoke_session(session, token=previous_token)
    return create_session(session, user_id=user_id, workspace_id=workspace_id, policy=policy)


def revoke_member_sessions(session: Session, *, user_id: int, workspace_id: int) -> int:
    """End every session of a user that is looking at a workspace they were removed from."""
    result = session.exec(
        update(AuthSession)
        .where(
            col(AuthSession.user_id) == user_id,
            col(AuthSession.workspace_id) == workspace_id,
            col(AuthSession.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


# --- sign-in attempts: state, nonce and PKCE verifier between redirect and callback ---------------


def save_login_attempt(
    session: Session, *, request: LoginRequest, return_to: str, now: datetime | None = None
) -> str:
    handle = new_token()
    session.add(
        LoginAttempt(
            handle_hash=_digest(handle),
            state=request.state,
            nonce=request.nonce,
            code_verifier=request.code_verifier,
            return_to=return_to,
            created_at=now or utcnow(),
        )
    )
    session.flush()
    return handle


def take_login_attempt(
    session: Session, *, handle: str | None, now: datetime | None = None
) -> tuple[LoginRequest, str] | None:
    """The attempt for this browser, consumed (a callback can be used once), or None."""
    if not handle:
        return None
    now = now or utcnow()
    attempt = session.exec(
        select(LoginAttempt).where(LoginAttempt.handle_hash == _digest(handle))
    ).first()
    session.exec(
        delete(LoginAttempt).where(
            (col(LoginAttempt.handle_hash) == _digest(handle))
            | (col(LoginAttempt.created_at) < now - LOGIN_ATTEMPT_LIFETIME)
        )
    )
    if attempt is None or now - _aware(attempt.created_at) > LOGIN_ATTEMPT_LIFETIME:
        return None
    request = LoginRequest(
        url="", state=attempt.state, nonce=attempt.nonce, code_verifier=attempt.code_verifier
    )
    return request, attempt.return_to


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
