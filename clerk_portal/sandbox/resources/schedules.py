"""Subscription schedules: phases applied to a subscription at their boundaries.

Modelled (https://docs.stripe.com/billing/subscriptions/subscription-schedules and
https://docs.stripe.com/api/subscription_schedules): create ``from_subscription`` (one phase: the
current period, the subscription's items) or for a ``customer`` with ``phases`` starting ``now``
or later; update ``phases`` (items with price and quantity, ``end_date`` or ``duration``; without
either a phase lasts one interval of its prices), ``end_behavior``, ``metadata``,
``proration_behavior`` (for a change to the current phase); ``release``; ``cancel``. Phases are
contiguous: each starts where the previous one ends. At a phase boundary the subscription's items
become the next phase's (prorated only inside a billing period: at the period end the renewal
bills the new prices; a new interval starts a new cycle and invoices it). After the last phase
``end_behavior=release`` releases the subscription (status ``released``), ``cancel`` cancels it
(status ``completed``). ``iterations`` was removed in API version 2025-09-30 and is refused as
Stripe does; anything else not modelled is refused with a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import invalid, missing, not_found
from ..render import created_filter, expand_paths, page, render, renderer
from ..router import route
from ..store import Ctx, diff
from ..util import add_interval, as_bool, as_dict, as_int, as_list, merge_metadata, new_id, public
from . import billing, lifecycle
from .catalog import get_price
from .customers import get_customer

ENDED = ("canceled", "incomplete_expired")
END_BEHAVIORS = ("release", "cancel")
INTERVALS = ("day", "week", "month", "year")
PHASE_KEYS = {"items", "end_date", "duration", "proration_behavior", "metadata"}
# accepted by Stripe, not modelled here: refused rather than ignored
PHASE_UNMODELLED = {
    "add_invoice_items",
    "application_fee_percent",
    "automatic_tax",
    "billing_cycle_anchor",
    "billing_thresholds",
    "collection_method",
    "currency",
    "default_payment_method",
    "default_tax_rates",
    "description",
    "discounts",
    "invoice_settings",
    "on_behalf_of",
    "transfer_data",
    "trial",
    "trial_end",
    "trial_continuation",
}
ITEM_KEYS = {"price", "quantity", "metadata"}
ITEM_UNMODELLED = {"price_data", "discounts", "tax_rates", "billing_thresholds"}
# the order given to a schedule's work at an instant: before the subscription's own renewal
FIRST = -(10**6)


def unsupported(param: str) -> Exception:
    return invalid(f"The sandbox does not support `{param}` on subscription schedules.", param)


def get_schedule(ctx: Ctx, schedule_id: Any) -> dict[str, Any]:
    schedule = ctx.store.get(schedule_id) if isinstance(schedule_id, str) else None
    if not schedule or schedule["object"] != "subscription_schedule":
        raise not_found("subscription_schedule", str(schedule_id), "schedule")
    return schedule


@renderer("subscription_schedules")
def render_schedule(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    obj = public(record)
    current = None
    if record["status"] == "active":
        phase = record["phases"][record["_phase"]]
        current = {"start_date": phase["start_date"], "end_date": phase["end_date"]}
    obj["current_phase"] = current
    return obj


# -- phases -------------------------------------------------------------------------------------


def _phase_items(ctx: Ctx, entry: dict[str, Any], at: str) -> list[dict[str, Any]]:
    entries = as_list(entry, "items")
    if not entries:
        raise missing(f"{at}[items]")
    items, prices = [], []
    for j, raw in enumerate(entries):
        where = f"{at}[items][{j}]"
        if not isinstance(raw, dict):
            raise invalid("Invalid items", f"{at}[items]")
        for key in raw:
            if key in ITEM_UNMODELLED:
                raise unsupported(f"{where}[{key}]")
            if key not in ITEM_KEYS:
                raise invalid(f"Received unknown parameter: {where}[{key}]", f"{where}[{key}]")
        if not raw.get("price"):
            raise missing(f"{where}[price]")
        price = get_price(ctx, raw["price"], f"{where}[price]")
        quantity = as_int(raw, "quantity", 1)
        if quantity is None or quantity < 0:
            raise invalid("Invalid quantity: must be a non-negative integer", f"{where}[quantity]")
        if price["id"] in (p["id"] for p in prices):
            raise invalid(
                "Cannot add multiple subscription items with the same price.", f"{at}[items]"
            )
        prices.append(price)
        items.append(
            {
                "billing_thresholds": None,
                "discounts": [],
                "metadata": merge_metadata({}, raw.get("metadata", {})),
                "plan": price["id"],
                "price": price["id"],
                "quantity": quantity,
                "tax_rates": [],
            }
        )
    cadences = {billing.cadence(p) for p in prices}
    currencies = {p["currency"] for p in prices}
    if len(cadences) > 1 or len(currencies) > 1:
        raise invalid(
            "Currency and interval fields must match across all plans on this subscription.",
            f"{at}[items]",
        )
    return items


def _phase_end(ctx: Ctx, entry: dict[str, Any], at: str, start: int, first_price: str) -> int:
    has_end, duration = "end_date" in entry, as_dict(entry, "duration")
    if has_end and duration:
        raise invalid("You may only specify one of `end_date` and `duration`.", f"{at}[end_date]")
    if has_end:
        end = as_int(entry, "end_date")
        if end is None or end <= start:
            raise invalid("The phase's end_date must be after its start_date.", f"{at}[end_date]")
        return int(end)
    if duration:
        interval = duration.get("interval")
        if interval not in INTERVALS:
            raise invalid(f"Invalid duration interval: {interval}", f"{at}[duration][interval]")
        count = as_int(duration, "interval_count", 1)
        if count is None or count < 1:
            raise invalid("Invalid interval_count", f"{at}[duration][interval_count]")
        return add_interval(start, interval, count, 1)
    price = ctx.store.get(first_price)
    assert price is not None
    interval, count = billing.cadence(price)  # no length given: one interval of its prices
    return add_interval(start, interval, count, 1)


def _phases(
    ctx: Ctx, entries: list[Any], first_start: int, *, updating: bool
) -> list[dict[str, Any]]:
    if not entries:
        raise missing("phases")
    phases: list[dict[str, Any]] = []
    start = first_start
    for i, entry in enumerate(entries):
        at = f"phases[{i}]"
        if not isinstance(entry, dict):
            raise invalid("Invalid phases", "phases")
        for key in entry:
            if key in PHASE_UNMODELLED:
                raise unsupported(f"{at}[{key}]")
            if key not in PHASE_KEYS and not (updating and key == "start_date"):
                raise invalid(f"Received unknown parameter: {at}[{key}]", f"{at}[{key}]")
        if i > 0 and "start_date" in entry and as_int(entry, "start_date") != start:
            raise invalid(
                "The start_date of a phase must be the end_date of the phase before it.",
                f"{at}[start_date]",
            )
        proration = entry.get("proration_behavior") or "create_prorations"
        if proration not in billing.PRORATION_BEHAVIORS:
            raise invalid(f"Invalid proration_behavior: {proration}", f"{at}[proration_behavior]")
        items = _phase_items(ctx, entry, at)
        end = _phase_end(ctx, entry, at, start, items[0]["price"])
        price = ctx.store.get(items[0]["price"])
        assert price is not None
        phases.append(
            {
                "add_invoice_items": [],
                "application_fee_percent": None,
                "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
                "billing_cycle_anchor": None,
                "billing_thresholds": None,
                "collection_method": None,
                "currency": price["currency"],
                "default_payment_method": None,
                "default_tax_rates": [],
                "description": None,
                "discounts": [],
                "end_date": end,
                "invoice_settings": None,
                "items": items,
                "metadata": merge_metadata({}, entry.get("metadata", {})),
                "on_behalf_of": None,
                "proration_behavior": proration,
                "start_date": start,
                "transfer_data": None,
                "trial_end": None,
            }
        )
        start = end
    return phases


def _new_schedule(
    ctx: Ctx, customer: dict[str, Any], now: int, params: dict[str, Any]
) -> dict[str, Any]:
    end_behavior = params.get("end_behavior") or "release"
    if end_behavior not in END_BEHAVIORS:
        raise invalid(f"Invalid end_behavior: {end_behavior}", "end_behavior")
    return {
        "id": new_id("sub_sched_"),
        "object": "subscription_schedule",
        "application": None,
        "billing_mode": {"type": "classic", "flexible": None},
        "canceled_at": None,
        "completed_at": None,
        "created": now,
        "current_phase": None,
        "customer": customer["id"],
        "customer_account": None,
        "default_settings": {
            "application_fee_percent": None,
            "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
            "billing_cycle_anchor": "automatic",
            "billing_thresholds": None,
            "collection_method": "charge_automatically",
            "default_payment_method": None,
            "description": None,
            "invoice_settings": {
                "account_tax_ids": None,
                "days_until_due": None,
                "issuer": {"type": "self"},
                "custom_fields": None,
                "description": None,
                "footer": None,
            },
            "on_behalf_of": None,
            "transfer_data": None,
        },
        "end_behavior": end_behavior,
        "livemode": False,
        "metadata": merge_metadata({}, params.get("metadata", {})),
        "phases": [],
        "released_at": None,
        "released_subscription": None,
        "status": "not_started",
        "subscription": None,
        "test_clock": customer["test_clock"],
        "_phase": 0,
    }


def _attach(ctx: Ctx, schedule: dict[str, Any], sub: dict[str, Any]) -> None:
    before = render(ctx, sub)
    sub["schedule"] = schedule["id"]
    schedule["subscription"] = sub["id"]
    schedule["status"] = "active"
    after = render(ctx, sub)
    ctx.emit("customer.subscription.updated", after, diff(before, after))


def _detach(ctx: Ctx, schedule: dict[str, Any], sub: dict[str, Any] | None) -> None:
    schedule["subscription"] = None
    if sub is not None and sub["schedule"] == schedule["id"]:
        before = render(ctx, sub)
        sub["schedule"] = None
        after = render(ctx, sub)
        if sub["status"] not in ENDED:
            ctx.emit("customer.subscription.updated", after, diff(before, after))


# -- endpoints ----------------------------------------------------------------------------------


@route(
    "POST",
    "/v1/subscription_schedules",
    params="customer from_subscription phases start_date end_behavior metadata default_settings "
    "billing_mode",
)
def create_schedule(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    for name in ("default_settings", "billing_mode"):
        if name in params:
            raise unsupported(name)
    if params.get("from_subscription"):
        for name in ("customer", "phases", "start_date", "end_behavior"):
            if name in params:
                raise invalid(f"You cannot set `{name}` if `from_subscription` is set.", name)
        schedule = _from_subscription(ctx, params)
    else:
        schedule = _for_customer(ctx, params)
    return render(ctx, schedule, expand_paths(params))


def _from_subscription(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    sub = ctx.store.get(params["from_subscription"])
    if not sub or sub["object"] != "subscription":
        raise not_found("subscription", str(params["from_subscription"]), "from_subscription")
    if sub["status"] in ENDED:
        raise invalid(
            f"You cannot migrate a subscription that is `{sub['status']}`.", "from_subscription"
        )
    if sub["schedule"]:
        raise invalid(
            "You cannot migrate a subscription that is already attached to a schedule: "
            f"`{sub['schedule']}`.",
            "from_subscription",
        )
    if sub["cancel_at"]:
        raise unsupported("from_subscription")  # a subscription set to cancel: not modelled
    customer = get_customer(ctx, sub["customer"])
    now = ctx.now(customer["test_clock"])
    schedule = _new_schedule(ctx, customer, now, params)
    start, end = sub["_period"]
    items = [
        {
            "billing_thresholds": None,
            "discounts": [],
            "metadata": {},
            "plan": item["price"],
            "price": item["price"],
            "quantity": item["quantity"],
            "tax_rates": [],
        }
        for item in billing.items_of(ctx, sub)
    ]
    entry = {"items": [{"price": i["price"], "quantity": i["quantity"]} for i in items]}
    phase = _phases(ctx, [{**entry, "end_date": end}], start, updating=False)[0]
    if sub["status"] == "trialing":
        phase["trial_end"] = sub["trial_end"]
    schedule["phases"] = [phase]
    ctx.store.put(schedule)
    _attach(ctx, schedule, sub)
    ctx.emit("subscription_schedule.created", render(ctx, schedule), created=now)
    return schedule


def _for_customer(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("customer"):
        raise missing("customer")
    customer = get_customer(ctx, params["customer"])
    now = ctx.now(customer["test_clock"])
    raw_start = params.get("start_date")
    if raw_start in (None, ""):
        raise missing("start_date")
    start = now if raw_start == "now" else int(as_int(params, "start_date"))
    if start < now:
        raise unsupported("start_date")  # backdating: not modelled
    schedule = _new_schedule(ctx, customer, now, params)
    schedule["phases"] = _phases(ctx, as_list(params, "phases"), start, updating=False)
    ctx.store.put(schedule)
    ctx.emit("subscription_schedule.created", render(ctx, schedule), created=now)
    if start == now:
        _start(ctx, schedule)
    return schedule


def _start(ctx: Ctx, schedule: dict[str, Any]) -> None:
    """A not-started schedule reaches its start: it creates the subscription of its first phase."""
    phase = schedule["phases"][0]
    entries = [{"price": i["price"], "quantity": i["quantity"]} for i in phase["items"]]
    sub = billing.create(ctx, {"customer": schedule["customer"], "items": entries})
    schedule["_phase"] = 0
    _attach(ctx, schedule, sub)
    ctx.emit("subscription_schedule.updated", render(ctx, schedule))


@route("GET", "/v1/subscription_schedules/{schedule_id}")
def retrieve_schedule(ctx: Ctx, params: dict[str, Any], schedule_id: str) -> dict[str, Any]:
    return render(ctx, get_schedule(ctx, schedule_id), expand_paths(params))


@route(
    "GET",
    "/v1/subscription_schedules",
    params="customer scheduled created limit starting_after ending_before",
)
def list_schedules(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = created_filter(ctx.store.all("subscription_schedules"), params)
    if params.get("customer"):
        records = [s for s in records if s["customer"] == params["customer"]]
    scheduled = as_bool(params, "scheduled")
    if scheduled is not None:
        records = [s for s in records if (s["status"] == "not_started") == scheduled]
    return page(ctx, records, params, "/v1/subscription_schedules")


@route(
    "POST",
    "/v1/subscription_schedules/{schedule_id}",
    params="phases end_behavior metadata proration_behavior default_settings",
)
def update_schedule(ctx: Ctx, params: dict[str, Any], schedule_id: str) -> dict[str, Any]:
    schedule = get_schedule(ctx, schedule_id)
    if "default_settings" in params:
        raise unsupported("default_settings")
    if schedule["status"] not in ("not_started", "active"):
        raise invalid(
            "You cannot update a subscription schedule that is currently in the "
            f"`{schedule['status']}` status.",
        )
    proration = params.get("proration_behavior") or "create_prorations"
    if proration not in billing.PRORATION_BEHAVIORS:
        raise invalid(f"Invalid proration_behavior: {proration}", "proration_behavior")
    before = render(ctx, schedule)
    if "end_behavior" in params:
        if params["end_behavior"] not in END_BEHAVIORS:
            raise invalid(f"Invalid end_behavior: {params['end_behavior']}", "end_behavior")
        schedule["end_behavior"] = params["end_behavior"]
    if "metadata" in params:
        schedule["metadata"] = merge_metadata(schedule["metadata"], params["metadata"])
    if "phases" in params:
        _replace_phases(ctx, schedule, as_list(params, "phases"), proration)
    after = render(ctx, schedule)
    changed = diff(before, after)
    if changed:
        ctx.emit("subscription_schedule.updated", after, changed)
    return render(ctx, schedule, expand_paths(params))


def _replace_phases(ctx: Ctx, schedule: dict[str, Any], entries: list[Any], proration: str) -> None:
    if not entries or not isinstance(entries[0], dict):
        raise missing("phases")
    first = entries[0]
    if schedule["status"] == "active":
        current = schedule["phases"][schedule["_phase"]]
        if first.get("start_date") in (None, ""):
            raise missing("phases[0][start_date]")
        if first.get("start_date") == "now" or as_int(first, "start_date") != current["start_date"]:
            # past phases may be omitted, the current one must come first, unmoved
            raise invalid(
                "You can not modify the start date of the current phase.", "phases[0][start_date]"
            )
        start = current["start_date"]
    else:
        customer = get_customer(ctx, schedule["customer"])
        now = ctx.now(customer["test_clock"])
        raw = first.get("start_date")
        start = (
            schedule["phases"][0]["start_date"]
            if raw in (None, "")
            else (now if raw == "now" else int(as_int(first, "start_date")))
        )
        if start < now:
            raise unsupported("phases[0][start_date]")
    phases = _phases(ctx, entries, start, updating=True)
    sub = ctx.store.get(schedule["subscription"]) if schedule["subscription"] else None
    if schedule["status"] == "active":
        assert sub is not None
        now = ctx.time_for(sub)
        if phases[0]["end_date"] <= now:
            raise invalid("The current phase must end in the future.", "phases[0][end_date]")
        schedule["phases"], schedule["_phase"] = phases, 0
        _apply_phase(ctx, sub, phases[0], proration)
    else:
        schedule["phases"], schedule["_phase"] = phases, 0
        customer = get_customer(ctx, schedule["customer"])
        if start == ctx.now(customer["test_clock"]):
            _start(ctx, schedule)


@route("POST", "/v1/subscription_schedules/{schedule_id}/release", params="preserve_cancel_date")
def release_schedule(ctx: Ctx, params: dict[str, Any], schedule_id: str) -> dict[str, Any]:
    schedule = get_schedule(ctx, schedule_id)
    as_bool(params, "preserve_cancel_date")  # the sandbox's schedules never set a cancel date
    if schedule["status"] not in ("not_started", "active"):
        raise invalid(
            "You cannot release a subscription schedule that is currently in the "
            f"`{schedule['status']}` status. It must be in `not_started` or `active`.",
        )
    _release(ctx, schedule, ctx.time_for(schedule))
    return render(ctx, schedule, expand_paths(params))


def _release(ctx: Ctx, schedule: dict[str, Any], at: int) -> None:
    sub = ctx.store.get(schedule["subscription"]) if schedule["subscription"] else None
    schedule["status"], schedule["released_at"] = "released", at
    schedule["released_subscription"] = sub["id"] if sub else None
    _detach(ctx, schedule, sub)
    ctx.emit("subscription_schedule.released", render(ctx, schedule), created=at)


@route("POST", "/v1/subscription_schedules/{schedule_id}/cancel", params="invoice_now prorate")
def cancel_schedule(ctx: Ctx, params: dict[str, Any], schedule_id: str) -> dict[str, Any]:
    schedule = get_schedule(ctx, schedule_id)
    if schedule["status"] not in ("not_started", "active"):
        raise invalid(
            "You cannot cancel a subscription schedule that is currently in the "
            f"`{schedule['status']}` status. It must be in `not_started` or `active`.",
        )
    at = ctx.time_for(schedule)
    sub = ctx.store.get(schedule["subscription"]) if schedule["subscription"] else None
    schedule["status"], schedule["canceled_at"] = "canceled", at
    if sub is not None and sub["status"] not in ENDED:
        # both default to true for a schedule (unlike DELETE /v1/subscriptions)
        lifecycle.cancel_now(
            ctx,
            sub,
            at=at,
            prorate=bool(as_bool(params, "prorate", True)),
            invoice_now=bool(as_bool(params, "invoice_now", True)),
        )
    ctx.emit("subscription_schedule.canceled", render(ctx, schedule), created=at)
    return render(ctx, schedule, expand_paths(params))


# -- time ---------------------------------------------------------------------------------------


def _apply_phase(ctx: Ctx, sub: dict[str, Any], phase: dict[str, Any], proration: str) -> None:
    """Make the subscription's items the phase's: same prices keep their item, others swap."""
    wanted = {i["price"]: i["quantity"] for i in phase["items"]}
    current = {item["price"]: item for item in billing.items_of(ctx, sub)}
    entries: list[dict[str, Any]] = [
        {"id": item["id"], "deleted": "true"}
        for price, item in current.items()
        if price not in wanted
    ]
    for price, quantity in wanted.items():
        item = current.get(price)
        if item is None:
            entries.append({"price": price, "quantity": quantity})
        elif item["quantity"] != quantity:
            entries.append({"id": item["id"], "quantity": quantity})
    if not entries:
        return
    # additions first: a subscription is never left without an item in between
    entries.sort(key=lambda e: "deleted" in e)
    start, end = sub["_period"]
    at = ctx.time_for(sub)
    behaviour = proration if start <= at < end else "none"
    lifecycle.update(ctx, sub, {"items": entries, "proration_behavior": behaviour})


def _advance(ctx: Ctx, schedule: dict[str, Any]) -> None:
    """The current phase ended: start the next one, or end the schedule."""
    at = schedule["phases"][schedule["_phase"]]["end_date"]
    sub = ctx.store.get(schedule["subscription"]) if schedule["subscription"] else None
    if sub is None or sub["status"] in ENDED:
        schedule["status"], schedule["canceled_at"] = "canceled", at
        ctx.emit("subscription_schedule.canceled", render(ctx, schedule), created=at)
        return
    if schedule["_phase"] + 1 < len(schedule["phases"]):
        before = render(ctx, schedule)
        schedule["_phase"] += 1
        phase = schedule["phases"][schedule["_phase"]]
        _apply_phase(ctx, sub, phase, phase["proration_behavior"])
        after = render(ctx, schedule)
        ctx.emit("subscription_schedule.updated", after, diff(before, after), created=at)
        return
    if schedule["end_behavior"] == "cancel":
        schedule["status"], schedule["completed_at"] = "completed", at
        lifecycle.cancel_now(ctx, sub, at=at)
        schedule["subscription"] = sub["id"]
        ctx.emit("subscription_schedule.completed", render(ctx, schedule), created=at)
        return
    _release(ctx, schedule, at)


def subscription_ended(ctx: Ctx, sub: dict[str, Any], at: int) -> None:
    """The subscription was canceled directly: its schedule is canceled with it."""
    schedule = ctx.store.get(sub["schedule"]) if sub.get("schedule") else None
    if schedule is None or schedule["status"] not in ("not_started", "active"):
        return
    schedule["status"], schedule["canceled_at"] = "canceled", at
    ctx.emit("subscription_schedule.canceled", render(ctx, schedule), created=at)


def due_work(ctx: Ctx, clock_id: str | None) -> list[tuple[int, int, Callable[[], None]]]:
    """Phase boundaries due on this clock; they run before a renewal at the same instant."""
    work: list[tuple[int, int, Callable[[], None]]] = []
    for order, schedule in enumerate(ctx.store.all("subscription_schedules")):
        if schedule["test_clock"] != clock_id:
            continue
        if schedule["status"] == "not_started":
            when = schedule["phases"][0]["start_date"]
            work.append((when, FIRST + order, _bind(_start, ctx, schedule)))
        elif schedule["status"] == "active":
            when = schedule["phases"][schedule["_phase"]]["end_date"]
            work.append((when, FIRST + order, _bind(_advance, ctx, schedule)))
    return work


def boundary_at(ctx: Ctx, sub: dict[str, Any], at: int) -> None:
    """For previews: run the subscription's schedule boundary falling at ``at``, if any."""
    schedule = ctx.store.get(sub["schedule"]) if sub.get("schedule") else None
    if schedule is None or schedule["status"] != "active":
        return
    if schedule["phases"][schedule["_phase"]]["end_date"] == at:
        _advance(ctx, schedule)


def _bind(
    fn: Callable[[Ctx, dict[str, Any]], None], ctx: Ctx, schedule: dict[str, Any]
) -> Callable[[], None]:
    return lambda: fn(ctx, schedule)
