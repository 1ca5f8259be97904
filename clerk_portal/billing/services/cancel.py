"""Cancel at the period end with a reason, resume before it; immediate cancel only if allowed.

Owners cancel at the period end: the workspace keeps what it paid for until then. A downgrade
scheduled through a Stripe subscription schedule is dropped by the cancel (Stripe refuses a
cancellation on a subscription a schedule manages, so the schedule is released first) and the
owner is told so; a resume does not bring it back. A pending change from before schedules waits
(an ending subscription is not switched; resuming keeps it). An
immediate cancel (`cancel_now`) refuses unless the caller passes `allow_immediate=True` (support
tooling; the owner-facing page never does), so no setting exists for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from clerk_portal.billing import ledger, mirror
from clerk_portal.billing.catalog import get_catalog
from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.gateway import BillingGateway, SubscriptionSnapshot, gateway_or_default
from clerk_portal.billing.services import schedule as schedules
from clerk_portal.billing.services.common import (
    AccountView,
    actor_name,
    load_account,
    write_subscription,
)
from clerk_portal.core import formats, text_input
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import InvalidValue
from clerk_portal.models import BillingAccount
from clerk_portal.models.status import ENDED
from clerk_portal.workspace import repository

# Stripe's `cancellation_details.feedback` values, with the words the page shows.
CANCEL_REASONS = {
    "too_expensive": "It's too expensive",
    "missing_features": "It's missing features we need",
    "switched_service": "We switched to another service",
    "unused": "We don't use it enough",
    "other": "Other",
}
MAX_COMMENT = 500


@dataclass(frozen=True)
class CancelResult:
    message: str
    already_scheduled: bool = False  # the same cancellation was scheduled before: nothing written


def _ends(when: datetime | None) -> str:
    return f"ends on {formats.day(when)}" if when else "ends at the end of the period"


def _check_reason(reason: str, comment: str | None) -> str | None:
    if reason not in CANCEL_REASONS:
        raise InvalidValue("Please choose a reason for canceling.")
    text = text_input.clean(comment, label="comment", max_length=MAX_COMMENT, multiline=True)
    return text or None


def _account_and_cycle(session: Session, workspace_id: int) -> tuple[BillingAccount, int]:
    """The account and the newest cancel or resume recorded, read together: the idempotency key
    of a cancel or resume is the same for every tab that saw the same state (a webhook moving
    the mirror between their reads must not split them), and new after each recorded change."""
    account = repository.get_billing_account(session, workspace_id=workspace_id)
    cycle = ledger.latest_activity_id(session, workspace_id=workspace_id, kinds=_CYCLE)
    return account, cycle


_CYCLE = ("cancel_scheduled", "resumed")


async def _live_subscription(workspace_id: int) -> AccountView:
    view = await load_account(workspace_id)
    if not view.subscription_id or view.status in ENDED:
        raise BillingError("There is no active subscription to cancel.")
    return view


async def cancel_at_period_end(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    reason: str,
    comment: str | None = None,
    gateway: BillingGateway | None = None,
) -> CancelResult:
    """Idempotent: the same cancellation sent again (a double click, another tab) writes nothing;
    sent at once, Stripe replays the first answer and the history keeps one row."""
    gateway = gateway_or_default(gateway)
    comment = _check_reason(reason, comment)
    view = await _live_subscription(workspace_id)
    account, cycle = await in_db(lambda s: _account_and_cycle(s, workspace_id))
    same = (account.cancel_reason, account.cancel_comment) == (reason, comment)
    if account.cancel_at_period_end and same:
        ends = _ends(account.current_period_end)
        return CancelResult(f"Your cancellation is already scheduled: it {ends}.", True)
    details = {"feedback": reason, "comment": comment or ""}
    wording = hashlib.sha256(f"{reason}\n{comment or ''}".encode()).hexdigest()[:16]
    key = f"{view.namespace}:cancel:{view.subscription_id}:after{cycle}:{wording}"
    dropped = ""
    if account.stripe_schedule_id:
        if account.pending_plan:
            name = get_catalog().plan(account.pending_plan).name
            every = "yearly" if account.pending_interval == "year" else "monthly"
            dropped = f" The scheduled change to {name} ({every}) is canceled."
        await schedules.release(gateway, account.stripe_schedule_id, namespace=view.namespace)
    snapshot = await gateway.update_subscription(
        view.subscription_id or "",
        {"cancel_at_period_end": True, "cancellation_details": details},
        idempotency_key=key,
    )

    # A pending change from before schedules is kept (not applied while the subscription is
    # ending): a resume brings it back as it was. A schedule's was released above.
    def apply(session: Session, account: BillingAccount, snap: SubscriptionSnapshot) -> str:
        mirror.apply_subscription(session, account, snap)
        ends = _ends(mirror.from_unix(snap.current_period_end))
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="cancel_scheduled",
            summary=f"{actor_name(session, actor_user_id)} canceled the subscription: it {ends}"
            f" (reason: {CANCEL_REASONS[reason].lower()}){dropped}",
            details={"reason": reason, "comment": comment},
            action_key=key,
        )
        return ends

    ends = await write_subscription(view, gateway, snapshot, apply=apply)
    return CancelResult(f"Your subscription {ends}.{dropped}")


async def resume(
    *, workspace_id: int, actor_user_id: int | None, gateway: BillingGateway | None = None
) -> SubscriptionSnapshot:
    """Undo a cancellation before the period ends. Idempotent like the cancel: a resume sent
    again (a double click, another tab) writes nothing; sent at once, Stripe replays the first."""
    gateway = gateway_or_default(gateway)
    view = await _live_subscription(workspace_id)
    account, cycle = await in_db(lambda s: _account_and_cycle(s, workspace_id))
    if not account.cancel_at_period_end:
        return await gateway.retrieve_subscription(view.subscription_id or "")
    key = f"{view.namespace}:resume:{view.subscription_id}:after{cycle}"
    snapshot = await gateway.update_subscription(
        view.subscription_id or "", {"cancel_at_period_end": False}, idempotency_key=key
    )

    def apply(session: Session, account: BillingAccount, snap: SubscriptionSnapshot) -> None:
        mirror.apply_subscription(session, account, snap)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="resumed",
            summary=f"{actor_name(session, actor_user_id)} resumed the subscription",
            action_key=key,
        )

    await write_subscription(view, gateway, snapshot, apply=apply)
    return snapshot


async def cancel_now(
    *,
    workspace_id: int,
    actor_user_id: int | None,
    reason: str,
    comment: str | None = None,
    allow_immediate: bool = False,
    gateway: BillingGateway | None = None,
) -> SubscriptionSnapshot:
    """End the subscription today (no refund). Refused unless `allow_immediate=True`."""
    if not allow_immediate:
        raise BillingError(
            "Subscriptions end at the end of the paid period: choose “Cancel at period end”."
        )
    gateway = gateway_or_default(gateway)
    comment = _check_reason(reason, comment)
    view = await _live_subscription(workspace_id)
    snapshot = await gateway.cancel_subscription(
        view.subscription_id or "",
        {"cancellation_details": {"feedback": reason, "comment": comment or ""}},
        idempotency_key=f"{view.namespace}:cancel_now:{view.subscription_id}",
    )

    def apply(session: Session, account: BillingAccount, snap: SubscriptionSnapshot) -> None:
        mirror.apply_subscription(session, account, snap)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind="canceled_now",
            summary=f"{actor_name(session, actor_user_id)} ended the subscription immediately",
            details={"reason": reason, "comment": comment},
        )

    await write_subscription(view, gateway, snapshot, apply=apply)
    return snapshot
