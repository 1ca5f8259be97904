"""What a team or numbers change does to the bill, and telling Stripe after it happened.

The team and numbers pages call only these two functions. The preview comes from the billing
services (Stripe's invoice preview of the new quantities); a workspace without a subscription
(the trial) pays nothing for the change, so Stripe is not asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from clerk_portal.billing import services
from clerk_portal.billing.errors import GatewayError
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import DomainError
from clerk_portal.models.status import BILLED
from clerk_portal.workspace import repository

log = logging.getLogger("clerk_portal.billing.services.change_effect")
TRIAL_NOTE = "No charge during your trial."
NO_SUBSCRIPTION_NOTE = "No charge: this workspace has no active subscription."
UNAVAILABLE_NOTE = (
    "The amount cannot be shown right now; the change will be prorated on your next invoice."
)


@dataclass(frozen=True)
class Effect:
    """`message` for the owner ("" when there is nothing to say about money)."""

    message: str
    prorated_cents: int | None = None


async def preview(workspace_id: int, *, seats_delta: int = 0, numbers_delta: int = 0) -> Effect:
    """The owner's view of a change before confirming it."""
    if seats_delta == 0 and numbers_delta == 0:
        return Effect("")
    account = await in_db(
        lambda session: repository.get_billing_account(session, workspace_id=workspace_id)
    )
    if account.stripe_subscription_id is None:
        return Effect(TRIAL_NOTE if account.status == "trialing" else NO_SUBSCRIPTION_NOTE)
    if account.status not in BILLED:
        return Effect(NO_SUBSCRIPTION_NOTE)
    try:
        result = await services.preview_quantity_change(
            workspace_id=workspace_id, seats_delta=seats_delta, numbers_delta=numbers_delta
        )
    except GatewayError as error:  # Stripe is down: the change itself does not depend on it
        log.warning("quantity preview of workspace %s failed: %s", workspace_id, error.message)
        return Effect(UNAVAILABLE_NOTE)
    return Effect(result.message, result.prorated_cents)


async def after_change(workspace_id: int) -> None:
    """Once a change is committed: Stripe's quantities follow (debounced and coalesced)."""
    try:
        await services.request_quantity_sync(workspace_id)
    except (DomainError, SQLAlchemyError):  # committed anyway; reconcile finds the drift
        log.exception("could not request the quantity sync of workspace %s", workspace_id)
