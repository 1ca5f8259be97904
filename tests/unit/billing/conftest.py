"""The billing services against `FakeGateway`: a migrated database per test (the integration
suite's fixtures: SQLite in tmp_path, PostgreSQL too when TEST_POSTGRES_URL is set), demo settings
pointing at it, and a fake gateway holding the synced catalog. No network, no sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from clerk_portal.billing.catalog import get_catalog
from clerk_portal.billing.catalog_sync import sync_catalog
from clerk_portal.billing.gateway.fake import FakeGateway
from clerk_portal.billing.services import quantities
from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from tests.integration.conftest import (  # noqa: F401 (fixtures)
    database_url,
    empty_database_url,
    migrated_sqlite_template,
)


@pytest.fixture
async def fake(
    database_url: str,  # noqa: F811 (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[FakeGateway]:
    monkeypatch.setenv("PORTAL_MODE", "demo")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    gateway = FakeGateway()
    await sync_catalog(gateway, get_catalog())
    yield gateway
    await quantities.flush_quantity_syncs()
    get_settings.cache_clear()
    engine_for(database_url).dispose()
