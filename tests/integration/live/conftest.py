"""One live channel per case: in process (SQLite), PostgreSQL LISTEN/NOTIFY, Redis pub/sub.

Each case is a fresh database (SQLite file, or a PostgreSQL schema of its own), with the
settings pointing at it (and at Redis for the Redis case), and the notifiers closed afterwards.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import make_url

from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.workspace.live import hooks
from clerk_portal.workspace.live.notifiers import Notifier

REDIS_URL = os.environ.get("TEST_REDIS_URL")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")

needs_postgres = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="TEST_POSTGRES_URL not set (CI sets it)"),
]
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL not set (CI sets it)")

LOCAL = pytest.param(("sqlite", None), id="in_process")
POSTGRES = pytest.param(("postgresql", None), id="postgresql_notify", marks=needs_postgres)
REDIS = pytest.param(("sqlite", "redis"), id="redis_pubsub", marks=[needs_redis])
EVERY_NOTIFIER = [LOCAL, POSTGRES, REDIS]


@dataclass
class Channel:
    kind: str  # "local", "postgresql" or "redis"
    database_url: str
    redis_url: str | None

    @property
    def notifier(self) -> Notifier:
        return hooks.notifier_for(self.database_url)

    def env(self) -> dict[str, str]:
        """The environment of another worker on the same database and channel."""
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
        env |= {"DATABASE_URL": self.database_url, "PORTAL_MODE": "demo"}
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env


@pytest.fixture(params=EVERY_NOTIFIER)
async def channel(request, monkeypatch, tmp_path):
    backend, redis = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'portal.db'}"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), make_url(url).database)
        schema = None
    else:
        url, schema = _postgres_database()
    monkeypatch.setenv("PORTAL_MODE", "demo")
    monkeypatch.setenv("DATABASE_URL", url)
    if redis:
        monkeypatch.setenv("REDIS_URL", REDIS_URL or "")
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    kind = "redis" if redis else ("postgresql" if backend == "postgresql" else "local")
    made = Channel(kind, url, REDIS_URL if redis else None)
    assert made.notifier.kind == kind
    try:
        yield made
    finally:
        for notifier in hooks.forget_notifiers():
            await notifier.close()
        engine_for(url).dispose()
        if schema:
            _drop_schema(schema)
        get_settings.cache_clear()


def _postgres_database() -> tuple[str, str]:
    import uuid

    import sqlalchemy as sa

    from clerk_portal.ops import migrations
    from tests.integration.conftest import _postgres_admin, _postgres_schema_url

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = _postgres_schema_url(schema)
    migrations.upgrade(url)
    return url, schema


def _drop_schema(schema: str) -> None:
    import sqlalchemy as sa

    from tests.integration.conftest import _postgres_admin

    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()
