"""Auth tests run the portal's own routes against a real OIDC provider and a real database."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from clerk_portal.core.settings import get_settings
from tests.support.oidc import running_provider

PORTAL = "http://localhost:3000"


@pytest.fixture(scope="session")
def provider():
    with running_provider() as provider:
        provider.set_user("alice", email="alice@acme.example", name="Alice Adams")
        provider.set_user("bob", email="bob@acme.example", name="Bob Brown")
        yield provider


@pytest.fixture
def portal_env(monkeypatch, database_url, provider):
    """Settings for a demo-mode portal on this test's database, signing in with the provider."""
    values = {
        "PORTAL_MODE": "demo",
        "DATABASE_URL": database_url,
        "PORT": "3000",
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": "clerk-portal",
        "OIDC_CLIENT_SECRET": "test-secret",
    }
    for name in ("PUBLIC_URL", "ALLOWED_ORIGINS", "REDIS_URL", "DEV_BACKEND_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


@pytest.fixture
def http(portal_env):
    from clerk_portal.web.api import build_api

    with TestClient(build_api(), base_url=PORTAL, follow_redirects=False) as client:
        yield client
