"""At most one upgrade of a workspace at a time, decided by the database before Stripe is asked.

A tab takes the claim with its SetupIntent id, in the transaction that locks the billing
account; the attempt number it gets is the subscription's idempotency key, so the same attempt
asked again (a retry, a re-check after a timeout) replays Stripe's answer instead of subscribing
twice. Another tab is refused while the claim is fresh. A claim older than `seconds` (its tab
closed, its process died) is taken over with the next number, after the caller has looked at
Stripe for what the old attempt left behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from clerk_portal.billing import mirror
from clerk_portal.models import BillingAccount, utcnow


@dataclass(frozen=True)
class Claim:
    attempt: int
    new: bool  # False: this tab held it already (the same attempt, asked again)


def take(session: Session, workspace_id: int, token: str, *, seconds: float) -> Claim | None:
    """The claim for `token`, or None while another tab holds a fresh one."""
    account = mirror.lock_account(session, workspace_id)
    now = utcnow()
    if account.upgrade_claim == token:
        return Claim(account.upgrade_attempt, new=False)
    taken_at = account.upgrade_claimed_at
    if account.upgrade_claim and taken_at and taken_at > now - timedelta(seconds=seconds):
        return None
    account.upgrade_attempt += 1
    account.upgrade_claim, account.upgrade_claimed_at = token, now
    session.add(account)
    return Claim(account.upgrade_attempt, new=True)


def held_by(session: Session, workspace_id: int, token: str) -> bool:
    account = session.exec(
        select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
    ).one()
    return account.upgrade_claim == token


def clear(account: BillingAccount) -> None:
    """The attempt is over (subscribed, or refused for good): the next one may start."""
    account.upgrade_claim = account.upgrade_claimed_at = None


def release(session: Session, workspace_id: int, token: str) -> None:
    account = mirror.lock_account(session, workspace_id)
    if account.upgrade_claim == token:
        clear(account)
        session.add(account)
