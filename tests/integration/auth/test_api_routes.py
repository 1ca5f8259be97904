"""Every HTTP route the backend serves refuses a request from another site, and writes nothing.

The same check as the browser suite's matrix (tests/e2e/test_authorization_matrix.py), here on the
backend's routes in process, with a signed-in member's cookie riding along, as a forged form post
would send it.
"""

from __future__ import annotations

from sqlmodel import Session

from clerk_portal.auth.sessions import SESSION_COOKIE
from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.demo.seed import seed_demo
from tests.support.access import check_served_routes, full_snapshot, served_routes

from .conftest import PORTAL


def test_every_api_route_refuses_a_request_from_elsewhere(http, database_url):
    assert {routes.AUTH_LOGOUT, routes.AUTH_DEMO, routes.STRIPE_WEBHOOK} <= {
        path for path, _methods, _roles in served_routes()
    }
    with Session(engine_for(database_url)) as session:
        seed_demo(session)
        session.commit()
    signed_in = http.post(routes.AUTH_DEMO, data={"as": "member"}, headers={"origin": PORTAL})
    assert signed_in.status_code == 303
    cookie = f"{SESSION_COOKIE}={http.cookies[SESSION_COOKIE]}"
    http.cookies.clear()  # only the cookie sent below rides along

    def snapshot():
        with engine_for(database_url).connect() as connection:
            return full_snapshot(connection)

    checked = check_served_routes(
        http.request, snapshot, cookie=cookie, own_origin=PORTAL, allowed=lambda _roles: False
    )

    assert checked >= 3  # sign-out, demo sign-in, the webhook
