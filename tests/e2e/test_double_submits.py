"""Issue 10, bug 10, at the page: a double click sends the same event twice over the websocket.

Send invitation, Cancel at period end and Save billing details, each sent twice in a row as a
double click does: one activity row, one success toast, no error toast.
"""

from __future__ import annotations

from sqlmodel import Session, select

from clerk_portal.db import engine_for
from clerk_portal.models import BillingActivity
from clerk_portal.pages.billing.actions import BillingActions
from clerk_portal.pages.billing.details import BillingDetailsState
from clerk_portal.pages.team import TeamState
from tests.support.reflex_socket import ReflexSocket
from tests.support.workspaces import fresh_owner_cookie, subscribe


def _rows(portal, workspace_id: int, kind: str) -> int:
    with Session(engine_for(portal.database_url)) as session:
        rows = session.exec(
            select(BillingActivity).where(
                BillingActivity.workspace_id == workspace_id, BillingActivity.kind == kind
            )
        )
        return len(list(rows))


def _toasts(*replies) -> list[str]:
    return [toast for reply in replies for toast in reply.toasts()]


def _errors(*replies) -> list[str]:
    return [toast for toast in _toasts(*replies) if "error" in toast]


def test_send_invitation_double_clicked_invites_once_without_an_error(portal):
    workspace, cookie = fresh_owner_cookie(portal)
    team = TeamState.get_full_name()
    socket = ReflexSocket(portal.url, cookie=cookie)
    try:
        socket.call(f"{team}.load_team", path="/team")
        review = socket.call(
            f"{team}.review_invite", {"form": {"email": "new@clinic.example"}}, path="/team"
        )
        token = next(v for k, v in review.changed_vars(team).items() if "confirm_token" in k)
        first = socket.call(f"{team}.confirm_change", {"token": token}, path="/team")
        second = socket.call(f"{team}.confirm_change", {"token": token}, path="/team")
    finally:
        socket.close()

    assert _rows(portal, workspace.id, "member_invited") == 1
    assert _errors(first, second) == []
    assert len(_toasts(first, second)) == 1


def test_cancel_and_billing_details_double_clicked_happen_once_without_an_error(portal):
    workspace, cookie = fresh_owner_cookie(portal)
    subscribe(portal, workspace)
    actions, details = BillingActions.get_full_name(), BillingDetailsState.get_full_name()
    cancel = {"form": {"reason": "too_expensive", "comment": "pricey"}}
    saved = {"form": {"email": "accounts@clinic.example", "country": "US", "city": "Oakland"}}
    socket = ReflexSocket(portal.url, cookie=cookie)
    try:
        socket.call(f"{actions}.open_cancel_dialog")
        canceled = [socket.call(f"{actions}.confirm_cancel", cancel) for _ in range(2)]
        socket.call(f"{details}.load_details")
        saves = [socket.call(f"{details}.save_details", saved) for _ in range(2)]
    finally:
        socket.close()

    assert _rows(portal, workspace.id, "cancel_scheduled") == 1
    assert _rows(portal, workspace.id, "details_updated") == 1
    assert _errors(*canceled, *saves) == []
    assert len(_toasts(*canceled)) == 1 and len(_toasts(*saves)) == 1
