"""billed_period: the period an invoice bills is its subscription lines' (not prorations)."""

from __future__ import annotations

from clerk_portal.billing.gateway.stripe.convert import billed_period, to_invoice


def _line(start: int, end: int, *, proration: bool = False, kind="subscription_item_details"):
    details = {"proration": proration, "subscription": "sub_1"}
    return {"period": {"start": start, "end": end}, "parent": {"type": kind, kind: details}}


def _invoice(*lines, period=(500, 500)):
    return {
        "id": "in_1",
        "status": "paid",
        "created": 500,
        "period_start": period[0],
        "period_end": period[1],
        "lines": {"data": list(lines)},
    }


def test_a_renewal_bills_its_lines_period_not_the_period_before():
    invoice = _invoice(_line(1000, 2000), _line(1000, 2000), period=(0, 1000))
    assert billed_period(invoice) == (1000, 2000)
    snapshot = to_invoice(invoice)
    assert (snapshot.billed_period_start, snapshot.billed_period_end) == (1000, 2000)
    assert (snapshot.period_start, snapshot.period_end) == (0, 1000)


def test_prorations_and_invoice_items_do_not_count():
    invoice = _invoice(
        _line(1500, 2000, proration=True),
        _line(10, 20, kind="invoice_item_details"),
        _line(2000, 3000),
    )
    assert billed_period(invoice) == (2000, 3000)


def test_no_subscription_line_gives_none():
    assert billed_period(_invoice(_line(1, 2, proration=True))) is None
    assert billed_period({"id": "in_1", "lines": None}) is None
    assert to_invoice(_invoice()).billed_period_start is None
