"""The trial (`TRIAL_DAYS`, the one place its length is set): days left, what expiry means, when
to remind.

The trial is the portal's own (it starts with the workspace, before Stripe knows the customer).
When it ends without a subscription the billing pages stay reachable and the rest of the app is
read-only until the owner upgrades; a canceled or unpaid subscription is read-only too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from clerk_portal.core.db import in_db
from clerk_portal.core.errors import NotFound
from clerk_portal.models import BillingAccount, utcnow
from clerk_portal.models.status import READ_ONLY

TRIAL_DAYS = 14  # a new workspace's trial; the pricing page and the demo say the same
REMIND_DAYS = 3


@dataclass(frozen=True)
class TrialState:
    on_trial: bool  # no subscription yet, or a Stripe trial
    days_left: int
    ends_at: datetime | None
    expired: bool
    read_only: bool  # the app outside billing is read-only
    remind: bool  # show the "trial ends soon" reminder

    @property
    def banner(self) -> str | None:
        if not self.on_trial:
            return None
        if self.expired:
            return "Your trial has ended · Upgrade your account to keep texting"
        days = "1 day" if self.days_left == 1 else f"{self.days_left} days"
        return f"Your trial account is active · {days} left · Upgrade your account"


def trial_state(account: BillingAccount, now: datetime | None = None) -> TrialState:
    now = now or utcnow()
    subscribed = account.stripe_subscription_id is not None
    on_trial = account.status == "trialing"
    ends = account.trial_ends_at
    seconds = (ends - now).total_seconds() if ends else 0
    days_left = max(0, math.ceil(seconds / 86400)) if on_trial else 0
    expired = on_trial and not subscribed and seconds <= 0
    read_only = expired or account.status in READ_ONLY
    remind = on_trial and not expired and days_left <= REMIND_DAYS
    return TrialState(on_trial, days_left, ends, expired, read_only, remind)


async def get_trial_state(*, workspace_id: int, now: datetime | None = None) -> TrialState:
    def load(session: Session) -> TrialState:
        account = session.exec(
            select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
        ).first()
        if account is None:
            raise NotFound("That workspace has no billing account.")
        return trial_state(account, now)

    return await in_db(load)
