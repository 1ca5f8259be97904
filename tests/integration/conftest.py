"""Database fixtures: every test gets a database of its own, on SQLite and (in CI) PostgreSQL.

- SQLite: a temporary file.
- PostgreSQL: a fresh schema (`test_<random>`) in the database of `TEST_POSTGRES_URL`, selected
  through the URL (`?options=-csearch_path=...`), so alembic, `engine_for()` and any other engine
  built from the URL land in it. The schema is dropped afterwards.

Without `TEST_POSTGRES_URL` the PostgreSQL cases are skipped. Locally:
`TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/pytest`.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from clerk_portal.core.db import engine_for
from clerk_portal.ops import migrations

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")

# Modules whose tests share a costly module-scoped fixture (test_runner_signals: a fresh clone
# that builds its own frontend, minutes): under `make test`'s xdist workers they run together on
# one worker, so that it is built once. Other modules' tests go to whichever worker is free.
ONE_WORKER_MODULES = {"test_runner_signals.py"}
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent == HERE and item.path.name in ONE_WORKER_MODULES:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="TEST_POSTGRES_URL not set (CI sets it)"),
        ],
    ),
]


def _postgres_admin() -> Engine:
    url = make_url(POSTGRES_URL or "")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")


def _postgres_schema_url(schema: str) -> str:
    url = make_url(POSTGRES_URL or "")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database (nothing migrated) on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'portal.db'}"
        yield url
        engine_for(url).dispose()
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = _postgres_schema_url(schema)
    try:
        yield url
    finally:
        engine_for(url).dispose()
        _drop_schema(admin, schema)
        admin.dispose()


def _drop_schema(admin: Engine, schema: str) -> None:
    """A writer the test started may still be finishing (a webhook's insert thread, say): when
    PostgreSQL picks the DROP as a deadlock's victim, it is tried again once that writer is done."""
    for attempt in range(5):
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            return
        except sa.exc.OperationalError as error:
            if "deadlock" not in str(error) or attempt == 4:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once per session (per xdist worker): each test's database
    starts as a copy of it, the same file alembic would have written, without running alembic.
    (alembic's own engine leaves it in rollback-journal mode, closed: a plain file to copy.)"""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(request, empty_database_url) -> str:
    """A database migrated to head (SQLite: a copy of the session's migrated file)."""
    url = make_url(empty_database_url)
    if url.get_backend_name() == "sqlite":
        template = request.getfixturevalue("migrated_sqlite_template")
        shutil.copyfile(template, url.database)
    else:
        migrations.upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def engine(database_url) -> Engine:
    """The portal's own engine for that database (SQLite: WAL, foreign keys, busy timeout)."""
    return engine_for(database_url)


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session for one test; what the test does not commit is rolled back."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()
