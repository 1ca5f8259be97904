"""Publish every raised `mirror_version` once, when (and only if) its transaction commits.

Session events, for every session of the process: after each flush, a billing account whose
`mirror_version` changed through the ORM (`billing.mirror.bump`) is noted in `session.info`,
and so are the workspaces of `touch()` (a statement, not the ORM). Just before the outermost
commit the notes are published inside the transaction (PostgreSQL NOTIFY: delivered on commit);
just after it, everywhere else (Redis, in process). A rollback publishes nothing: the outermost
forgets the notes, a savepoint's marks them unknown (the tabs re-read rather than trust them).
"""

from __future__ import annotations

import os
import threading

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import SessionTransaction, attributes
from sqlmodel import Session

from clerk_portal.core.settings import get_settings
from clerk_portal.models import BillingAccount
from clerk_portal.workspace.live.notifiers import (
    LocalNotifier,
    Notifier,
    PostgresNotifier,
    RedisNotifier,
)

PENDING = "clerk_portal.live.pending"  # session.info: {workspace_id: version or None}


_made: dict[tuple[str, str | None], Notifier] = {}
_making = threading.Lock()
# A forked worker makes its own (its parent's connections and subscription are not its own).
os.register_at_fork(after_in_child=_made.clear)


def notifier_for(database_url: str) -> Notifier:
    """The one notifier of this process for that database (and the configured Redis)."""
    url = make_url(database_url).render_as_string(hide_password=False)
    key = (url, get_settings().redis_url)
    with _making:
        if key not in _made:
            _made[key] = _new_notifier(*key)
        return _made[key]


def _new_notifier(database_url: str, redis_url: str | None) -> Notifier:
    if redis_url:
        return RedisNotifier(database_url, redis_url)
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresNotifier(database_url)
    return LocalNotifier(database_url)


def notifiers() -> list[Notifier]:
    """Every notifier this process made (closed at shutdown)."""
    with _making:
        return list(_made.values())


def forget_notifiers() -> list[Notifier]:
    """Drop them all (tests); returns them, to close."""
    with _making:
        made = list(_made.values())
        _made.clear()
        return made


def note(session: Session, workspace_id: int, version: int | None) -> None:
    """The workspace's version was raised in this session's transaction (None: unknown)."""
    pending: dict[int, int | None] = session.info.setdefault(PENDING, {})
    before = pending.get(workspace_id, -1)
    if version is None or before is None:
        pending[workspace_id] = None
    else:
        pending[workspace_id] = max(before, version)


def _session_notifier(session: Session) -> Notifier:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    assert isinstance(engine, Engine)
    return notifier_for(engine.url.render_as_string(hide_password=False))


@event.listens_for(Session, "after_flush")
def _note_bumps(session: Session, _flush_context: object) -> None:
    for instance in session.dirty:
        if isinstance(instance, BillingAccount):
            added = attributes.get_history(instance, "mirror_version").added
            if added:
                value = added[-1]
                note(session, instance.workspace_id, value if isinstance(value, int) else None)


@event.listens_for(Session, "before_commit")
def _publish_in_transaction(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # the last flush's bumps are noted before they are published
    if pending := session.info.get(PENDING):
        _session_notifier(session).publish_in_transaction(session, dict(pending))


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the outer transaction may still roll back
    if pending := session.info.pop(PENDING, None):
        _session_notifier(session).publish_committed(pending)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(PENDING)
    if not pending:
        return
    if previous_transaction.parent is None:
        del session.info[PENDING]
    else:  # a savepoint rolled back: which of the versions stand is unknown
        for workspace_id in pending:
            pending[workspace_id] = None
