"""Database engines and sessions for the portal's own code (repository, services, routes)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, create_engine

from clerk_portal.core.settings import get_settings

T = TypeVar("T")


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates its file but not the folder (var/ on a fresh clone)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


@functools.cache
def engine_for(url: str) -> Engine:
    """One pooled engine per URL; SQLite gets WAL, foreign keys and a busy timeout."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    ensure_sqlite_folder(url)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def get_engine() -> Engine:
    return engine_for(get_settings().sqlalchemy_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


async def in_db(fn: Callable[[Session], T]) -> T:
    """Run `fn(session)` in one transaction on a worker thread (never on the event loop)."""

    def run() -> T:
        with session_scope() as session:
            return fn(session)

    return await asyncio.to_thread(run)
