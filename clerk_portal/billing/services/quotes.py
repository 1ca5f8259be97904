"""Sales quotes: a rep (staff) quotes a prospect a plan, interval, seats and numbers at catalog
prices, with an optional discount, on Stripe's Quotes API; the prospect opens the share link
(`/quote/<token>`), downloads the PDF and accepts, which starts their workspace's subscription
at those terms through the upgrade service.

A quote is, at Stripe: a customer for the prospect, a coupon of its own (percent or amount off,
once / repeating / forever), the quote (line items, discount, expiry) finalized at once (open,
numbered, with its PDF). Here: a `sales_quote` row with an unguessable token (the link's only
key), the terms and totals Stripe computed. The status is the portal's: `expired` is an open
quote past its validity (Stripe reads it as canceled), `accepted` is set once the subscription
started; accepting claims the quote for one workspace first, so two prospects, two tabs or a
double click start one subscription.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from clerk_portal.billing import ledger, pricing
from clerk_portal.billing.catalog import Interval, describe_coupon, get_catalog, is_interval
from clerk_portal.billing.errors import BillingError, OutcomeUnknown
from clerk_portal.billing.gateway import BillingGateway, gateway_or_default
from clerk_portal.billing.services.upgrade import (
    UpgradeResult,
    UpgradeStart,
    complete_upgrade,
    start_upgrade,
    subscription_items,
)
from clerk_portal.core import text_input
from clerk_portal.core.db import in_db
from clerk_portal.core.errors import DomainError, InvalidValue, NotFound
from clerk_portal.models import Quote, utcnow

TOKEN_BYTES = 24  # secrets.token_urlsafe: 32 characters, 192 bits
MAX_VALIDITY_DAYS = 365
DURATIONS = ("once", "repeating", "forever")
NOT_FOUND = "This quote does not exist. Check the link, or ask your Clerk Chat contact for it."
EXPIRED = "This quote expired on {day}. Ask your Clerk Chat contact for a new one."
CANCELED = "This quote was withdrawn. Ask your Clerk Chat contact for a new one."
ACCEPTED = "This quote has already been accepted."
TAKEN = "This quote has already been accepted by another workspace."
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_DISCOUNT = re.compile(
    r"^\s*(?:(?P<percent>\d{1,3}(?:\.\d{1,2})?)\s*%|\$?\s*(?P<amount>\d{1,7}(?:\.\d{2})?))\s*$"
)


@dataclass(frozen=True)
class Discount:
    """A coupon's terms: `percent_off` or `amount_off_cents`, and how long it lasts."""

    percent_off: float | None
    amount_off_cents: int | None
    duration: str
    duration_in_months: int | None = None

    def describe(self) -> str:
        return describe_coupon(
            self.percent_off, self.amount_off_cents, self.duration, self.duration_in_months
        )


@dataclass(frozen=True)
class QuoteRequest:
    plan: str
    interval: Interval
    seats: int
    numbers: int
    company: str
    email: str
    expires_on: date
    note: str = ""
    discount: Discount | None = None


@dataclass(frozen=True)
class QuoteView:
    """What the share link, the rep's list and the PDF route show of a quote."""

    token: str
    number: str
    status: str  # draft, open, accepted, expired, canceled
    plan: str
    plan_name: str
    interval: Interval
    seats: int
    numbers: int
    included_numbers: int
    lines: tuple[pricing.LineItem, ...]
    subtotal_cents: int
    discount_label: str
    discount_cents: int  # taken off the first invoice
    total_cents: int  # the first invoice
    recurring_cents: int  # each period after the first
    per_year_cents: int  # a year at the recurring price
    company: str
    email: str
    note: str
    expires_at: datetime
    created_at: datetime
    accepted_workspace_id: int | None
    coupon_id: str | None
    stripe_quote_id: str

    @property
    def acceptable(self) -> bool:
        return self.status == "open"

    def refusal(self) -> str:
        """Why it cannot be accepted ("" when it can)."""
        if self.status == "expired":
            return EXPIRED.format(
                day=f"{self.expires_at:%b} {self.expires_at.day}, {self.expires_at.year}"
            )
        if self.status == "canceled":
            return CANCELED
        if self.status == "accepted":
            return ACCEPTED
        return "" if self.acceptable else NOT_FOUND


# --- input ----------------------------------------------------------------------------------


def parse_discount(
    amount: object, duration: object = "once", months: object = None
) -> Discount | None:
    """ "20%" or "$50" / "50.00" off, once / repeating (for `months`) / forever; empty: none."""
    text = text_input.clean(amount, label="discount", max_length=20)
    if not text:
        return None
    match = _DISCOUNT.match(text)
    if match is None:
        raise InvalidValue('Write the discount as a percentage ("20%") or an amount ("$50").')
    how_long = str(duration or "once").strip().lower()
    if how_long not in DURATIONS:
        raise InvalidValue("The discount lasts once, for some months (repeating) or forever.")
    in_months = None
    if how_long == "repeating":
        in_months = text_input.count(months, label="months")
        if not in_months or in_months > 36:
            raise InvalidValue("A repeating discount lasts 1 to 36 months.")
    if match["percent"] is not None:
        percent = float(match["percent"])
        if not 0 < percent <= 100:
            raise InvalidValue("A percentage discount is more than 0% and at most 100%.")
        return Discount(percent, None, how_long, in_months)
    cents = round(float(match["amount"]) * 100)
    if cents <= 0:
        raise InvalidValue("An amount discount is more than $0.")
    return Discount(None, cents, how_long, in_months)


def parse_expiry(raw: object, *, today: date | None = None) -> date:
    """A validity date (YYYY-MM-DD) after today and within a year."""
    today = today or utcnow().date()
    text = text_input.clean(raw, label="valid until", max_length=10)
    try:
        chosen = date.fromisoformat(text)
    except ValueError:
        raise InvalidValue("The validity date is a date like 2027-01-31.") from None
    if chosen <= today:
        raise InvalidValue("The quote must be valid until a day after today.")
    if chosen > today + timedelta(days=MAX_VALIDITY_DAYS):
        raise InvalidValue(f"A quote is valid for at most {MAX_VALIDITY_DAYS} days.")
    return chosen


def read_request(form: dict[str, object], *, today: date | None = None) -> QuoteRequest:
    """The compose form (or the CLI's options) as the server accepts it; InvalidValue names the
    first field that is wrong."""
    plan = str(form.get("plan") or "")
    catalog = get_catalog()
    if plan not in catalog.plans or not catalog.plan(plan).self_serve:
        raise InvalidValue("Choose Startup or Business: Enterprise is priced by hand.")
    interval = str(form.get("interval") or "")
    if not is_interval(interval):
        raise InvalidValue("Choose monthly or yearly billing.")
    seats = text_input.count(form.get("seats"), label="seats")
    numbers = text_input.count(form.get("numbers"), label="phone numbers")
    if seats is None or numbers is None:
        raise InvalidValue("Give the number of seats and of phone numbers.")
    problems = pricing.check_plan_limits(plan, seats, numbers)
    if problems:
        raise InvalidValue(" ".join(problems))
    company = text_input.clean(form.get("company"), label="company", max_length=120, required=True)
    email = text_input.email(form.get("email"), label="prospect's email")
    note = text_input.clean(
        form.get("note"), label="note", max_length=text_input.MESSAGE, multiline=True
    )
    discount = parse_discount(
        form.get("discount"), form.get("discount_duration"), form.get("discount_months")
    )
    expires_on = parse_expiry(form.get("expires"), today=today)
    return QuoteRequest(plan, interval, seats, numbers, company, email, expires_on, note, discount)


# --- create ---------------------------------------------------------------------------------


def _expiry_moment(day: date) -> datetime:
    """The end of the validity day, UTC: valid until 23:59:59 that day."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


async def create_quote(
    request: QuoteRequest, *, actor_user_id: int | None, gateway: BillingGateway | None = None
) -> QuoteView:
    """Customer, coupon, quote (finalized) at Stripe, then the row; the share link's token."""
    gateway = gateway_or_default(gateway)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    ref = secrets.token_hex(6)  # Stripe ids and idempotency keys: never the token itself
    key = f"quote:{ref}"
    plan = get_catalog().plan(request.plan)
    customer = await gateway.create_customer(
        name=request.company,
        email=request.email,
        metadata={"purpose": "quote", "quote_ref": ref},
        idempotency_key=f"{key}:customer",
    )
    params: dict[str, object] = {
        "customer": customer.id,
        "line_items": await subscription_items(
            gateway, request.plan, request.interval, request.seats, request.numbers
        ),
        "expires_at": int(_expiry_moment(request.expires_on).timestamp()),
        "header": f"{plan.name} for {request.company}",
        "metadata": {"quote_ref": ref, "plan": request.plan, "seats": str(request.seats)},
    }
    if request.note:
        params["description"] = request.note
    label = None
    coupon_id = None
    if request.discount is not None:
        discount = request.discount
        label = discount.describe()
        coupon = await gateway.create_coupon(
            coupon_id=f"quote_{ref}",
            name=f"Quote for {request.company}"[:40],
            percent_off=discount.percent_off,
            amount_off=discount.amount_off_cents,
            currency=get_catalog().currency,
            duration=discount.duration,
            duration_in_months=discount.duration_in_months,
            idempotency_key=f"{key}:coupon",
        )
        coupon_id = coupon.id
        params["discounts"] = [{"coupon": coupon.id}]
    draft = await gateway.create_quote(params, idempotency_key=f"{key}:create")
    opened = await gateway.finalize_quote(draft.id, idempotency_key=f"{key}:finalize")

    def store(session: Session) -> QuoteView:
        row = Quote(
            token=token,
            stripe_quote_id=opened.id,
            stripe_customer_id=customer.id,
            number=opened.number,
            status=opened.status,
            plan=request.plan,
            interval=request.interval,
            seats=request.seats,
            numbers=request.numbers,
            coupon_id=coupon_id,
            discount_label=label,
            subtotal_cents=opened.amount_subtotal,
            total_cents=opened.amount_total,
            recurring_cents=opened.recurring_total,
            prospect_company=request.company,
            prospect_email=request.email,
            note=request.note or None,
            expires_at=datetime.fromtimestamp(opened.expires_at, UTC),
            created_by_user_id=actor_user_id,
        )
        session.add(row)
        session.flush()
        return _view(row)

    return await in_db(store)


# --- read -----------------------------------------------------------------------------------


def _status_now(row: Quote, now: datetime) -> str:
    if row.status == "open" and _aware(row.expires_at) <= now:
        return "expired"
    return row.status


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _view(row: Quote, now: datetime | None = None) -> QuoteView:
    assert is_interval(row.interval)  # a checked column
    plan = get_catalog().plan(row.plan)
    terms = pricing.quote(row.plan, row.interval, row.seats, row.numbers)
    per_year = row.recurring_cents * (12 if row.interval == "month" else 1)
    return QuoteView(
        token=row.token,
        number=row.number or "",
        status=_status_now(row, now or utcnow()),
        plan=row.plan,
        plan_name=plan.name,
        interval=row.interval,
        seats=row.seats,
        numbers=row.numbers,
        included_numbers=plan.included_numbers,
        lines=terms.lines,
        subtotal_cents=row.subtotal_cents,
        discount_label=row.discount_label or "",
        discount_cents=row.subtotal_cents - row.total_cents,
        total_cents=row.total_cents,
        recurring_cents=row.recurring_cents,
        per_year_cents=per_year,
        company=row.prospect_company,
        email=row.prospect_email,
        note=row.note or "",
        expires_at=_aware(row.expires_at),
        created_at=_aware(row.created_at),
        accepted_workspace_id=row.accepted_workspace_id,
        coupon_id=row.coupon_id,
        stripe_quote_id=row.stripe_quote_id,
    )


def _row(session: Session, token: object) -> Quote | None:
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None  # not even the shape of a token: no query for it
    return session.exec(select(Quote).where(Quote.token == token)).first()


async def quote_by_token(token: object) -> QuoteView:
    """The quote behind a share link, or NotFound (any unknown or malformed token alike)."""

    def read(session: Session) -> QuoteView:
        row = _row(session, token)
        if row is None:
            raise NotFound(NOT_FOUND)
        return _view(row)

    return await in_db(read)


async def list_quotes(*, limit: int = 100) -> list[QuoteView]:
    """The newest quotes first (the rep's list)."""

    def read(session: Session) -> list[QuoteView]:
        rows = session.exec(
            select(Quote).order_by(col(Quote.created_at).desc(), col(Quote.id).desc()).limit(limit)
        ).all()
        now = utcnow()
        return [_view(row, now) for row in rows]

    return await in_db(read)


async def quote_pdf(token: object, *, gateway: BillingGateway | None = None) -> tuple[str, bytes]:
    """(filename, Stripe's PDF) of the quote behind a share link; NotFound for an unknown one."""
    gateway = gateway_or_default(gateway)
    view = await quote_by_token(token)
    pdf = await gateway.quote_pdf(view.stripe_quote_id)
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", view.number or "quote")[:80]
    return f"Quote-{safe}.pdf", pdf


async def cancel_quote(
    token: object, *, actor_user_id: int | None, gateway: BillingGateway | None = None
) -> QuoteView:
    """Withdraw an open quote (Stripe's cancel); an accepted one stays accepted."""
    gateway = gateway_or_default(gateway)
    view = await quote_by_token(token)
    if view.status not in ("draft", "open"):
        raise BillingError(f"This quote is {view.status}: it cannot be withdrawn.")
    await gateway.cancel_quote(
        view.stripe_quote_id, idempotency_key=f"quote:{view.token[:12]}:cancel"
    )

    def apply(session: Session) -> QuoteView:
        row = _row(session, token)
        assert row is not None
        row.status = "canceled"
        session.add(row)
        return _view(row)

    return await in_db(apply)


# --- accept ---------------------------------------------------------------------------------


def claim_for(session: Session, token: object, workspace_id: int) -> QuoteView:
    """Hold an open quote for `workspace_id` before Stripe is asked (one conditional UPDATE:
    two workspaces cannot both hold it); the same workspace may ask again (a retry, a tab)."""
    row = _row(session, token)
    if row is None:
        raise NotFound(NOT_FOUND)
    view = _view(row)
    if view.status != "open":
        raise BillingError(view.refusal())
    taken = session.execute(
        update(Quote)
        .where(
            col(Quote.id) == row.id,
            col(Quote.status) == "open",
            (col(Quote.accepted_workspace_id).is_(None))
            | (col(Quote.accepted_workspace_id) == workspace_id),
        )
        .values(accepted_workspace_id=workspace_id)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise BillingError(TAKEN)
    session.refresh(row)
    return _view(row)


def release(session: Session, token: str, workspace_id: int) -> None:
    """The subscription did not start (a declined card): the quote is open to accept again."""
    session.execute(
        update(Quote)
        .where(
            col(Quote.token) == token,
            col(Quote.status) == "open",
            col(Quote.accepted_workspace_id) == workspace_id,
        )
        .values(accepted_workspace_id=None)
    )


def mark_accepted(
    session: Session, token: str, workspace_id: int, actor_user_id: int | None
) -> None:
    row = _row(session, token)
    if row is None or row.status == "accepted":
        return
    row.status, row.accepted_at = "accepted", utcnow()
    row.accepted_workspace_id = workspace_id
    session.add(row)
    ledger.record_activity(
        session,
        workspace_id=workspace_id,
        actor_user_id=actor_user_id,
        kind="quote_accepted",
        summary=f"Quote {row.number or ''} accepted ({row.discount_label or 'no discount'})",
        details={"quote": row.stripe_quote_id},
        action_key=f"quote_accepted:{row.id}",
    )


async def start_acceptance(
    *, token: object, workspace_id: int, gateway: BillingGateway | None = None
) -> UpgradeStart:
    """The card form for accepting: refused for a quote that is not open, or held by another
    workspace, before Stripe is asked."""
    view = await quote_by_token(token)
    if not view.acceptable:
        raise BillingError(view.refusal())
    if view.accepted_workspace_id not in (None, workspace_id):
        raise BillingError(TAKEN)
    return await start_upgrade(
        workspace_id=workspace_id, plan=view.plan, interval=view.interval, gateway=gateway
    )


async def accept_quote(
    *,
    token: object,
    workspace_id: int,
    actor_user_id: int | None,
    setup_intent_id: str,
    gateway: BillingGateway | None = None,
) -> UpgradeResult:
    """Start the workspace's subscription at the quote's terms (plan, interval, seats, numbers,
    its coupon) through the upgrade service, once: the quote is held for this workspace first,
    released if the subscription does not start, accepted when it does."""
    view = await in_db(lambda session: claim_for(session, token, workspace_id))
    try:
        result = await complete_upgrade(
            workspace_id=workspace_id,
            actor_user_id=actor_user_id,
            setup_intent_id=setup_intent_id,
            plan=view.plan,
            interval=view.interval,
            counts=(view.seats, view.numbers),
            coupon_id=view.coupon_id,
            gateway=gateway,
        )
    except OutcomeUnknown:
        raise  # Stripe may have started it: the quote stays held for this workspace
    except DomainError:
        await in_db(lambda session: release(session, view.token, workspace_id))
        raise
    await in_db(lambda session: mark_accepted(session, view.token, workspace_id, actor_user_id))
    return result
