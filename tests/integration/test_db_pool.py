"""The PostgreSQL pool: one round trip per query while busy, and a connection that the server
dropped while it sat idle is replaced before use (no error reaches the person)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clerk_portal.core import db
from clerk_portal.core.db import engine_for, session_scope

from .conftest import POSTGRES_URL, _postgres_admin

# PostgreSQL's pool only (SQLite has no server to drop a connection).
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="TEST_POSTGRES_URL not set (CI sets it)"),
    pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True),
]


@pytest.fixture
def postgres_url(database_url) -> str:
    return database_url


def _backend_pid(url: str) -> int:
    with session_scope(engine_for(url)) as session:
        return int(session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _drop_on_the_server(pid: int) -> None:
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def _pool_of_one(url: str) -> None:
    engine = engine_for(url)
    engine.dispose()  # the pool is empty: the next query opens the one connection used below


def test_a_connection_dropped_while_idle_is_replaced_before_use(postgres_url, monkeypatch):
    _pool_of_one(postgres_url)
    dropped = _backend_pid(postgres_url)
    _drop_on_the_server(dropped)
    monkeypatch.setattr(db, "IDLE_CHECK_SECONDS", 0.0)  # it has been idle "long enough"
    checks = db.liveness_checks

    assert _backend_pid(postgres_url) != dropped
    assert db.liveness_checks == checks + 1


def test_without_the_idle_check_the_dropped_connection_fails_the_query(postgres_url, monkeypatch):
    """What the check prevents (and what this pool did without it): an error on first use."""
    _pool_of_one(postgres_url)
    _drop_on_the_server(_backend_pid(postgres_url))
    monkeypatch.setattr(db, "IDLE_CHECK_SECONDS", 1e9)

    with pytest.raises(sa.exc.OperationalError):
        _backend_pid(postgres_url)
    assert _backend_pid(postgres_url) > 0  # the pool dropped it: the next query reconnects


def test_busy_connections_are_used_without_a_check(postgres_url):
    _backend_pid(postgres_url)
    checks = db.liveness_checks

    for _ in range(50):
        _backend_pid(postgres_url)

    assert db.liveness_checks == checks
