"""The page layer's own logic over a real database (SQLite; PostgreSQL with TEST_POSTGRES_URL)."""

from __future__ import annotations

import pytest

from clerk_portal.core.settings import get_settings


@pytest.fixture(autouse=True)
def portal_database(monkeypatch, database_url):
    """`session_scope()` and the services use this test's database."""
    monkeypatch.setenv("PORTAL_MODE", "demo")
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()
