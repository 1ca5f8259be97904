"""Database engines and sessions for the portal's own code (repository, services, routes)."""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlmodel import Session, create_engine

from clerk_portal.core.settings import get_settings

T = TypeVar("T")


def ensure_sqlite_folder(url: str) -> None:
    """SQLite creates its file but not the folder (var/ on a fresh clone)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


# `in_db` runs on asyncio's default thread pool, min(32, cores + 4) threads: a PostgreSQL pool
# keeps that many connections, so a burst neither waits for one nor opens and closes extras.
POOL_SIZE = min(32, (os.cpu_count() or 1) + 4)
# A connection idle longer than this is checked (SELECT 1) before use, and replaced if the server
# or the network dropped it; busy connections are not, so a query costs one round trip, not two.
IDLE_CHECK_SECONDS = 30.0
liveness_checks = 0  # how many checks ran (tests and benchmarks read it)


@functools.cache
def engine_for(url: str) -> Engine:
    """One pooled engine per URL; SQLite gets WAL, foreign keys and a busy timeout."""
    if make_url(url).get_backend_name() != "sqlite":
        engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_SIZE, pool_recycle=3600)
        event.listen(engine, "checkin", _note_idle_since)
        event.listen(engine, "checkout", _check_if_idle_long)
        return engine
    ensure_sqlite_folder(url)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _note_idle_since(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _check_if_idle_long(
    dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """SQLAlchemy's `pool_pre_ping`, for connections that sat idle only: raising
    DisconnectionError makes the pool drop this connection and hand out another."""
    global liveness_checks
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_CHECK_SECONDS:
        return
    liveness_checks += 1
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as error:
        raise exc.DisconnectionError(f"an idle connection was dropped: {error}") from error


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
