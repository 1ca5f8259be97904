"""Issue 11, unbounded inputs, over the real transports of the running portal: the websocket (as
the assessment sent contact sales about 90 MB in 10 s without a cookie) and HTTP (/auth/login).

Each attack comes from a loopback address of its own (tests/support/inputs.py), so the allowance
it uses up is not the one the browser tests use from 127.0.0.1, nor one an earlier run used up.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from clerk_portal.auth import login_limits, sessions
from clerk_portal.core import routes
from clerk_portal.core.db import engine_for
from clerk_portal.pages.team import TeamState
from clerk_portal.ui.contact_sales import PER_CLIENT, TOO_MANY_FROM_YOU, ContactSalesState
from tests.support.inputs import SocketFrom, fresh_source, http_from
from tests.support.reflex_socket import Reply

SUBMIT = f"{ContactSalesState.get_full_name()}.submit_inquiry"
REVIEW_INVITE = f"{TeamState.get_full_name()}.review_invite"
# Just under Socket.IO's 1,000,000-byte message limit, as the assessment sent.
NEAR_A_MEGABYTE = 990_000


def _count(portal, table: str) -> int:
    with engine_for(portal.database_url).connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _var(reply: Reply, name: str) -> object:
    pattern = re.compile(rf"\.{name}(_rx_state_)?$")
    values = [value for key, value in reply.changed_vars().items() if pattern.search(key)]
    return values[-1] if values else None


def _form(number: int = 0, **fields: str) -> dict:
    return {
        "form": {
            "name": f"Pat Lee {number}",
            "email": f"pat{number}@bigclinic.example",
            "company": "Big Clinic",
            "seats": "250",
            "numbers": "",
            "message": "We would like a quote.",
            **fields,
        }
    }


@pytest.mark.parametrize("field", ["name", "email", "company", "message"])
def test_a_megabyte_sent_to_contact_sales_is_refused_and_nothing_is_stored(portal, field):
    source = fresh_source()
    huge = "x" * NEAR_A_MEGABYTE + ("@big.example" if field == "email" else "")
    before = _count(portal, "enterprise_inquiry")
    socket = SocketFrom(portal.url, source=source)
    try:
        reply = socket.call(SUBMIT, _form(**{field: huge}), path="/pricing")
    finally:
        socket.close()

    assert "can be at most" in str(_var(reply, "error"))
    assert _var(reply, "sent") is not True
    assert _count(portal, "enterprise_inquiry") == before


def test_a_nul_or_bidi_override_sent_to_contact_sales_is_refused(portal):
    source = fresh_source()
    before = _count(portal, "enterprise_inquiry")
    socket = SocketFrom(portal.url, source=source)
    try:
        replies = [
            socket.call(SUBMIT, _form(name=f"Pat{char}Lee"), path="/pricing")
            for char in ("\x00", "\u202e")
        ]
    finally:
        socket.close()

    for reply in replies:
        assert "control or text-direction characters" in str(_var(reply, "error"))
    assert _count(portal, "enterprise_inquiry") == before


def test_fifty_contact_sales_requests_from_one_client_store_only_its_allowance(portal):
    """A new tab (a new client token) for each request: the limit follows the address."""
    source = fresh_source()
    before = _count(portal, "enterprise_inquiry")
    replies = []
    for number in range(50):
        socket = SocketFrom(portal.url, source=source)
        try:
            replies.append(socket.call(SUBMIT, _form(number), path="/pricing"))
        finally:
            socket.close()

    assert _count(portal, "enterprise_inquiry") == before + PER_CLIENT.count
    assert [_var(reply, "sent") for reply in replies[: PER_CLIENT.count]] == [True] * 5
    assert all(_var(reply, "error") == TOO_MANY_FROM_YOU for reply in replies[PER_CLIENT.count :])


def test_a_900_kb_invite_email_sent_over_the_websocket_is_refused(portal):
    source = fresh_source()
    with http_from(source) as client:
        response = client.post(
            portal.url + routes.AUTH_DEMO, data={"as": "owner"}, headers={"origin": portal.url}
        )
    cookie = f"{sessions.SESSION_COOKIE}={response.cookies[sessions.SESSION_COOKIE]}"
    before = _count(portal, "membership")
    socket = SocketFrom(portal.url, source=source, cookie=cookie)
    try:
        replies = [
            socket.call(REVIEW_INVITE, {"form": {"email": email, "role": "member"}}, path="/team")
            for email in ("a" * 900_000 + "@x.example", "pat\u202e@acme.example")
        ]
    finally:
        socket.close()

    assert _var(replies[0], "invite_error") == "The email address can be at most 254 characters."
    assert "control or text-direction" in str(_var(replies[1], "invite_error"))
    assert _count(portal, "membership") == before


def test_a_login_flood_from_one_client_is_answered_429_and_rows_stay_bounded(portal):
    source = fresh_source()
    before = _count(portal, "login_attempt")
    with http_from(source) as client:
        answers = [
            client.get(portal.url + routes.AUTH_LOGIN)
            for _ in range(login_limits.PER_CLIENT.count + 20)
        ]

    statuses = [answer.status_code for answer in answers]
    assert statuses == [302] * login_limits.PER_CLIENT.count + [429] * 20
    assert "Too many sign-ins were started from here" in answers[-1].text
    assert _count(portal, "login_attempt") <= before + login_limits.PER_CLIENT.count
