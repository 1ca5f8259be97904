"""GET /healthz answers after a real database query, and 503 with a reason when it cannot."""

from starlette.testclient import TestClient

from clerk_portal.core.db import engine_for
from clerk_portal.ops import migrations
from clerk_portal.web import api


def test_healthz_ok_after_a_real_query(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'health.db'}"
    migrations.upgrade(url)
    monkeypatch.setattr(api, "get_engine", lambda: engine_for(url))

    response = TestClient(api.build_api()).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_the_database_is_unreachable(monkeypatch):
    # Nothing listens on port 1: a real connection attempt that fails.
    unreachable = engine_for("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    monkeypatch.setattr(api, "get_engine", lambda: unreachable)

    response = TestClient(api.build_api()).get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"].startswith("unreachable")
