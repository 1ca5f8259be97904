"""Issue 10, bug 10, at the page: a double click sends the same event twice over the websocket.

Send invitation, Cancel at period end and Save billing details, each sent twice in a row as a
double click does: one activity row, one success toast, no error toast.
"""

from __future__ import annotations

from sqlmodel import Session, select

from clerk_portal.core.db import engine_for
from clerk_portal.models import BillingActivity
from clerk_portal.pages.billing.actions import BillingActions
from clerk_portal.pages.billing.details import BillingDetailsState
from clerk_portal.pages.billing.upgrade import UpgradeState
from clerk_portal.pages.team import TeamState
from clerk_portal.workspace import repository
from tests.support.reflex_socket import ReflexSocket, Reply
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
        review = socket.call(  # the owner's amount comes from Stripe off the lock: await it
            f"{team}.review_invite",
            {"form": {"email": "new@clinic.example"}},
            path="/team",
            until=lambda r: r.var("effect_loading") is False,
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
        # Background tasks: the first answers once Stripe did; the repeat must not answer.
        canceled = [
            socket.call(f"{actions}.confirm_cancel", cancel, until=Reply.toasts),
            socket.call(f"{actions}.confirm_cancel", cancel, background=True),
        ]
        socket.call(f"{details}.load_details")
        saves = [
            socket.call(f"{details}.save_details", saved, until=Reply.toasts),
            socket.call(f"{details}.save_details", saved, background=True),
        ]
    finally:
        socket.close()

    assert _rows(portal, workspace.id, "cancel_scheduled") == 1
    assert _rows(portal, workspace.id, "details_updated") == 1
    assert _errors(*canceled, *saves) == []
    assert len(_toasts(*canceled)) == 1 and len(_toasts(*saves)) == 1


def test_two_tabs_confirming_the_same_plan_change_charge_and_record_it_once(portal):
    from concurrent.futures import ThreadPoolExecutor

    from tests.e2e.test_plan_change_review import UPGRADE, _update_invoices, _upgrades

    workspace, cookie = fresh_owner_cookie(portal)
    subscribe(portal, workspace)  # Business monthly
    with Session(engine_for(portal.database_url)) as session:
        subscription_id = repository.get_billing_account(
            session, workspace_id=workspace.id
        ).stripe_subscription_id
    state = UpgradeState.get_full_name()
    tabs = [ReflexSocket(portal.url, cookie=cookie) for _ in range(2)]
    try:
        tokens = []
        for tab in tabs:
            tab.call(f"{state}.load_upgrade", path=UPGRADE)
            tab.call(f"{state}.select_interval", {"interval": "year"}, path=UPGRADE)
            reviewed = tab.call(
                f"{state}.review_change", path=UPGRADE, until=lambda r: r.var("working") is False
            ).changed_vars(state)
            tokens.append(next((v for k, v in reviewed.items() if "confirm_token" in k), ""))
        with ThreadPoolExecutor(2) as pool:
            confirms = list(
                pool.map(
                    lambda pair: pair[0].call(  # what each tab's Confirm button sends
                        f"{state}.confirm_change",
                        {"token": pair[1]} if pair[1] else {},
                        path=UPGRADE,
                        until=lambda r: r.toasts() or r.var("error"),
                    ),
                    zip(tabs, tokens, strict=True),
                )
            )
    finally:
        for tab in tabs:
            tab.close()

    assert len(_update_invoices(portal, subscription_id)) == 1
    assert len(_upgrades(portal, workspace.id)) == 1
    assert _errors(*confirms) == []
    assert all(tokens)
