"""Stripe coupons the portal applies: a promotion code typed at upgrade, and the retention offer
of the cancel flow.

- `check_promotion_code`: the owner types a code beside the line items; Stripe finds the active
  promotion code (`GET /v1/promotion_codes?code=`), and Stripe's own preview of the first invoice
  (`create_preview` with `discounts=[{promotion_code}]`) says what it takes off, so the amount
  shown is the amount Stripe then bills. The upgrade passes the code's id in `discounts`.
- `retention_offer` / `accept_retention_offer`: before canceling, an owner is offered the
  catalog's `retention` coupon (as Stripe's hosted portal offers one,
  https://docs.stripe.com/customer-management/cancellation-page#retention-coupons); accepting puts
  it on the subscription (`discounts=[{coupon}]`) instead of canceling. Once per workspace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from clerk_portal.billing import ledger, mirror
from clerk_portal.billing.catalog import Coupon, Interval, describe_coupon, get_catalog
from clerk_portal.billing.errors import BillingError
from clerk_portal.billing.gateway import (
    BillingGateway,
    CouponInfo,
    InvoicePreview,
    PromotionCodeInfo,
    SubscriptionSnapshot,
    gateway_or_default,
)
from clerk_portal.billing.services.common import (
    CLASSIC_BILLING,
    actor_name,
    load_account,
    write_subscription,
)
from clerk_portal.billing.services.customer import ensure_customer
from clerk_portal.core import text_input
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import InvalidValue
from clerk_portal.models import BillingAccount, BillingActivity
from clerk_portal.models.status import ENDED

_CODE = re.compile(r"[A-Za-z0-9]{1,64}")
RETENTION = "retention"  # the catalog's coupon key the cancel flow offers
RETENTION_ACCEPTED = "retention_accepted"


@dataclass(frozen=True)
class AppliedCode:
    """A promotion code checked against Stripe for one plan and interval."""

    promotion_code_id: str
    code: str
    description: str  # "20% off the first invoice"
    discount_cents: int  # taken off the first invoice, by Stripe's preview
    amount_due_cents: int  # the first invoice after it, by Stripe's preview
    plan: str
    interval: Interval


def describe(coupon: CouponInfo | Coupon) -> str:
    return describe_coupon(
        coupon.percent_off, coupon.amount_off, coupon.duration, coupon.duration_in_months
    )


def clean_code(raw: object) -> str:
    code = text_input.clean(raw, label="promotion code", max_length=64)
    if not code:
        raise InvalidValue("Enter a promotion code.")
    if not _CODE.fullmatch(code):
        raise InvalidValue("A promotion code is letters and digits only.")
    return code


async def check_promotion_code(
    *,
    workspace_id: int,
    plan: str,
    interval: Interval,
    code: object,
    items: list[dict[str, object]],
    gateway: BillingGateway | None = None,
) -> AppliedCode:
    """What `code` takes off the first invoice of `items` (the upgrade's), from Stripe. An unknown,
    inactive, expired or used-up code is refused with a message; nothing is stored."""
    gateway = gateway_or_default(gateway)
    promo = await find_promotion(code, gateway)
    view = await ensure_customer(await load_account(workspace_id), gateway)
    preview = await gateway.preview_invoice(
        {
            "customer": view.customer_id,
            "subscription_details": {"items": items, "billing_mode": CLASSIC_BILLING},
            "discounts": [{"promotion_code": promo.id}],
        }
    )
    return applied_code(promo, preview, plan, interval, "this plan")


async def find_promotion(code: object, gateway: BillingGateway) -> PromotionCodeInfo:
    """The active promotion code typed as `code`, with a valid coupon; refused with a message
    (an unknown, inactive, expired or used-up code). Shared by the upgrade and the plan change."""
    typed = clean_code(code)
    promo = await gateway.find_promotion_code(typed)
    if promo is None or promo.coupon is None or not promo.coupon.valid:
        raise BillingError(f"{typed.upper()} is not a valid promotion code.")
    return promo


def applied_code(
    promo: PromotionCodeInfo, preview: InvoicePreview, plan: str, interval: Interval, what: str
) -> AppliedCode:
    """What Stripe's `preview` with the code takes off (`what` it is: "this plan"); a code that
    takes nothing is refused."""
    assert promo.coupon is not None  # find_promotion refused a code without one
    discount = preview.subtotal - preview.total
    if discount <= 0:
        raise BillingError(f"{promo.code} takes nothing off {what}.")
    words = describe(promo.coupon)
    return AppliedCode(promo.id, promo.code, words, discount, preview.amount_due, plan, interval)


# --- the retention offer ----------------------------------------------------------------------


def _accepted_before(session: Session, workspace_id: int) -> bool:
    return (
        session.exec(
            select(sa.literal(1)).where(
                col(BillingActivity.workspace_id) == workspace_id,
                col(BillingActivity.kind) == RETENTION_ACCEPTED,
            )
        ).first()
        is not None
    )


def _offer_for(session: Session, workspace_id: int) -> Coupon | None:
    coupon = get_catalog().coupons.get(RETENTION)
    account = session.exec(
        select(BillingAccount).where(BillingAccount.workspace_id == workspace_id)
    ).first()
    if coupon is None or account is None or not account.stripe_subscription_id:
        return None
    if account.status in ENDED or account.status not in ("active", "past_due"):
        return None
    if account.cancel_at_period_end or _accepted_before(session, workspace_id):
        return None
    return coupon


async def retention_offer(workspace_id: int) -> str | None:
    """The offer's words ("25% off for 3 months") when this workspace may take it, else None."""
    coupon = await in_db(lambda session: _offer_for(session, workspace_id))
    return describe(coupon) if coupon else None


async def accept_retention_offer(
    *, workspace_id: int, actor_user_id: int | None, gateway: BillingGateway | None = None
) -> str:
    """Put the retention coupon on the subscription; the message says what it takes off.

    Idempotent: a double click (or two tabs) sends one key, so Stripe applies it once and the
    history keeps one row; after that the offer is no longer made."""
    gateway = gateway_or_default(gateway)
    coupon = await in_db(lambda session: _offer_for(session, workspace_id))
    if coupon is None:
        raise BillingError("That offer is not available for this subscription.")
    view = await load_account(workspace_id)
    key = f"{view.namespace}:retention:{view.subscription_id}:{coupon.id}"
    snapshot = await gateway.update_subscription(
        view.subscription_id or "",
        {"discounts": [{"coupon": coupon.id}], "proration_behavior": "none"},
        idempotency_key=key,
    )
    words = describe(coupon)

    def apply(session: Session, account: BillingAccount, snap: SubscriptionSnapshot) -> None:
        mirror.apply_subscription(session, account, snap)
        ledger.record_activity(
            session,
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            kind=RETENTION_ACCEPTED,
            summary=f"{actor_name(session, actor_user_id)} accepted the offer to stay: {words}",
            details={"coupon": coupon.id},
            action_key=key,
        )

    await write_subscription(view, gateway, snapshot, apply=apply)
    return f"Thank you for staying: you get {words} from today, on your next invoices."
