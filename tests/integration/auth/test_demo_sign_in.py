"""One-click demo sign-in: demo mode only, same session machinery, same-origin only."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from clerk_portal.auth.sessions import SESSION_COOKIE
from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.demo.seed import seed_demo
from clerk_portal.ui.guard import principal_for_token

from .conftest import PORTAL


@pytest.fixture
def seeded(portal_env, database_url):
    with Session(engine_for(database_url)) as session:
        seed_demo(session)
        seed_demo(session)  # idempotent
        session.commit()


@pytest.mark.parametrize(("person", "name"), [("owner", "Olivia Park"), ("member", "Mia Chen")])
def test_demo_people_sign_in_with_one_click(http, seeded, person, name):
    response = http.post(routes.AUTH_DEMO, data={"as": person}, headers={"origin": PORTAL})

    assert response.status_code == 303
    assert response.headers["location"] == routes.HOME  # the home page sends each person on by role
    principal = principal_for_token(http.cookies[SESSION_COOKIE])
    assert (principal.user_name, principal.role, principal.workspace_name) == (
        name,
        person,
        "Acme Dental",
    )


def test_unknown_demo_person_is_refused(http, seeded):
    response = http.post(routes.AUTH_DEMO, data={"as": "root"}, headers={"origin": PORTAL})

    assert response.status_code == 400
    assert SESSION_COOKIE not in http.cookies


def test_demo_sign_in_from_another_site_is_refused(http, seeded):
    response = http.post(
        routes.AUTH_DEMO, data={"as": "owner"}, headers={"origin": "https://evil.example"}
    )

    assert response.status_code == 403
    assert SESSION_COOKIE not in http.cookies


def test_demo_sign_in_before_seeding_explains_itself(http):
    response = http.post(routes.AUTH_DEMO, data={"as": "owner"}, headers={"origin": PORTAL})

    assert response.status_code == 409
    assert "run `make run` once" in response.text


def test_production_has_no_demo_sign_in_route(monkeypatch, seeded):
    production = {
        "PORTAL_MODE": "production",
        "PUBLIC_URL": "https://billing.clerk.example",
        "STRIPE_SECRET_KEY": "sk_live_x",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_live_x",
        "OIDC_ISSUER": "https://login.clerk.example",
    }
    for name, value in production.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    from clerk_portal.web.api import build_api

    paths = {route.path for route in build_api().routes}
    assert routes.AUTH_DEMO not in paths
    assert routes.AUTH_LOGIN in paths
    with TestClient(build_api(), base_url="https://billing.clerk.example") as client:
        response = client.post(
            routes.AUTH_DEMO,
            data={"as": "owner"},
            headers={"origin": "https://billing.clerk.example"},
            follow_redirects=False,
        )
    assert response.status_code in (404, 405)
    assert SESSION_COOKIE not in client.cookies
