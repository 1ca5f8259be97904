"""`invoice.upcoming`'s handler: its invoice has no id, so Stripe's preview of the subscription's
next invoice is read instead; a late event (the renewal it announced has passed) or one of
another subscription changes nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from clerk_portal.billing.errors import GatewayError, StripeUnavailable
from clerk_portal.billing.gateway import InvoicePreview
from clerk_portal.billing.webhooks import handlers
from clerk_portal.models import BillingAccount

RENEWS_AT = 1_800_000_000


def _preview(period_end: int, amount_due: int = 14700) -> InvoicePreview:
    return InvoicePreview(
        amount_due=amount_due,
        subtotal=amount_due,
        total=amount_due,
        currency="usd",
        lines=(),
        period_start=period_end - 30 * 86400,
        period_end=period_end,
    )


class _Session:
    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, row: Any) -> None:
        self.added.append(row)


class _Gateway:
    def __init__(self, answer: Any) -> None:
        self.answer, self.asked = answer, []

    async def preview_invoice(self, params: dict[str, Any]) -> InvoicePreview:
        self.asked.append(params)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _account() -> BillingAccount:
    return BillingAccount(
        workspace_id=1, stripe_customer_id="cus_A1", stripe_subscription_id="sub_A1"
    )


def _event_object(subscription: str = "sub_A1") -> dict[str, Any]:
    return {
        "object": "invoice",
        "id": None,
        "customer": "cus_A1",
        "period_end": RENEWS_AT,
        "parent": {"subscription_details": {"subscription": subscription}},
    }


def _apply(notice: handlers.RenewalNotice) -> tuple[BillingAccount, _Session]:
    account, session = _account(), _Session()
    handlers.renewal_upcoming(session, account, notice)  # type: ignore[arg-type]
    return account, session


def test_the_preview_of_the_announced_renewal_sets_the_notice():
    gateway = _Gateway(_preview(RENEWS_AT))
    notice = asyncio.run(handlers.upcoming_renewal(_event_object(), gateway))  # type: ignore[arg-type]
    assert gateway.asked == [{"subscription": "sub_A1"}]
    account, session = _apply(notice)
    assert account.renewal_notice_at == datetime.fromtimestamp(RENEWS_AT, UTC)
    assert account.renewal_notice_cents == 14700 and session.added == [account]


def test_a_late_event_whose_renewal_has_passed_changes_nothing():
    notice = handlers.RenewalNotice("sub_A1", RENEWS_AT, _preview(RENEWS_AT + 31 * 86400))
    account, session = _apply(notice)
    assert account.renewal_notice_at is None and session.added == []


def test_an_event_of_another_subscription_changes_nothing():
    notice = handlers.RenewalNotice("sub_Old", RENEWS_AT, _preview(RENEWS_AT))
    account, session = _apply(notice)
    assert account.renewal_notice_at is None and session.added == []


def test_nothing_renewing_any_more_changes_nothing():
    gateway = _Gateway(GatewayError("No upcoming invoices for subscription"))
    notice = asyncio.run(handlers.upcoming_renewal(_event_object(), gateway))  # type: ignore[arg-type]
    assert notice.preview is None
    account, session = _apply(notice)
    assert account.renewal_notice_at is None and session.added == []


def test_stripe_unreachable_is_retried_not_taken_for_no_renewal():
    gateway = _Gateway(StripeUnavailable("Stripe could not be reached"))
    with pytest.raises(StripeUnavailable):
        asyncio.run(handlers.upcoming_renewal(_event_object(), gateway))  # type: ignore[arg-type]


def test_an_event_without_a_subscription_id_reads_nothing():
    gateway = _Gateway(_preview(RENEWS_AT))
    notice = asyncio.run(handlers.upcoming_renewal(_event_object("in_Nope"), gateway))  # type: ignore[arg-type]
    assert gateway.asked == [] and notice.preview is None
    account, session = _apply(notice)
    assert account.renewal_notice_at is None and session.added == []


def test_only_an_invoice_paid_through_the_renewal_clears_the_notice():
    from clerk_portal.billing import mirror

    account, session = _account(), _Session()
    mirror.apply_renewal_notice(
        session,  # type: ignore[arg-type]
        account,
        at=datetime.fromtimestamp(RENEWS_AT, UTC),
        cents=14700,
    )
    # prorations paid during the period: the renewal is still to come
    assert not mirror.clear_renewal_notice(session, account, paid_through=RENEWS_AT - 86400)  # type: ignore[arg-type]
    assert account.renewal_notice_cents == 14700
    assert mirror.clear_renewal_notice(session, account, paid_through=RENEWS_AT)  # type: ignore[arg-type]
    assert account.renewal_notice_at is None and account.renewal_notice_cents is None
