"""GET /invoices/{id}/pdf (issue 16): the PDF from the portal's own origin, for an owner of the
signed-in workspace and that workspace's invoices only."""

from __future__ import annotations

import httpx
import pytest

from clerk_portal.auth import sessions
from clerk_portal.billing import ledger
from clerk_portal.core import routes
from clerk_portal.core.db import in_db, session_scope
from clerk_portal.web.api import build_api
from tests.support import workspaces

from .conftest import Env
from .helpers import subscribe

PORTAL = "http://localhost:3000"


def _token(user_id: int, workspace_id: int) -> str:
    with session_scope() as session:
        return workspaces.session_token(session, user_id=user_id, workspace_id=workspace_id)


async def _first_invoice(workspace_id: int) -> str:
    page = await in_db(lambda s: ledger.invoice_page(s, workspace_id=workspace_id, limit=1))
    return page.items[0].stripe_invoice_id


async def _get(path: str, token: str | None = None) -> httpx.Response:
    cookies = {sessions.SESSION_COOKIE: token} if token else {}
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url=PORTAL, cookies=cookies) as http:
        return await http.get(path)


def _pdf(invoice_id: str) -> str:
    return routes.INVOICE_PDF.replace("{invoice_id}", invoice_id)


@pytest.fixture
async def two_workspaces(env: Env) -> tuple[tuple[int, int, str], tuple[int, int, str]]:
    mine, my_owner, _ = await subscribe(env, name="Mine")
    theirs, their_owner, _ = await subscribe(env, name="Theirs")
    return (
        (mine, my_owner, await _first_invoice(mine)),
        (theirs, their_owner, await _first_invoice(theirs)),
    )


async def test_an_owner_downloads_the_pdf_of_an_invoice_of_their_workspace(two_workspaces):
    (workspace_id, owner_id, invoice_id), _ = two_workspaces
    response = await _get(_pdf(invoice_id), _token(owner_id, workspace_id))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('attachment; filename="Invoice-')
    assert response.content.startswith(b"%PDF")


async def test_another_workspaces_invoice_is_refused(two_workspaces):
    (workspace_id, owner_id, _), (_, _, their_invoice) = two_workspaces
    response = await _get(_pdf(their_invoice), _token(owner_id, workspace_id))
    assert response.status_code == 404
    assert b"%PDF" not in response.content
    assert response.text == "That invoice is not in this workspace."


async def test_no_session_or_no_owner_gets_no_pdf(two_workspaces):
    (workspace_id, _, invoice_id), _ = two_workspaces
    assert (await _get(_pdf(invoice_id))).status_code == 401
    assert (await _get(_pdf(invoice_id), "not-a-session")).status_code == 401
    with session_scope() as session:
        member = workspaces.person(session, kind="member")
        workspaces.member(session, workspace_id, role="admin", user=member)
        member_id = member.id
    response = await _get(_pdf(invoice_id), _token(member_id, workspace_id))
    assert response.status_code == 403


async def test_an_unknown_invoice_id_is_refused(two_workspaces):
    (workspace_id, owner_id, _), _ = two_workspaces
    token = _token(owner_id, workspace_id)
    for invoice_id in ("in_nope", "x" * 300):
        assert (await _get(_pdf(invoice_id), token)).status_code == 404
