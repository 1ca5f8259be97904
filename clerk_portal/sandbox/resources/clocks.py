"""Test clocks, the scheduler that runs due work (trials, renewals, retries) and Events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import invalid, missing, not_found
from ..render import created_filter, expand_paths, page, render
from ..router import route
from ..store import Ctx
from ..util import as_int, as_list, new_id
from . import invoices, invoicing, lifecycle, schedules

DAY = 86400
TRIAL_NOTICE = 3 * DAY
INCOMPLETE_EXPIRY = 23 * 3600
MAX_STEPS = 20000


def get_clock(ctx: Ctx, clock_id: str) -> dict[str, Any]:
    clock = ctx.store.get(clock_id)
    if not clock or clock["object"] != "test_helpers.test_clock":
        raise not_found("test_helpers.test_clock", clock_id, "test_clock")
    return clock


@route("POST", "/v1/test_helpers/test_clocks", params="frozen_time name")
def create_clock(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    frozen = as_int(params, "frozen_time")
    if frozen is None:
        raise missing("frozen_time")
    now = ctx.now()
    clock = {
        "id": new_id("clock_"),
        "object": "test_helpers.test_clock",
        "created": now,
        "deletes_after": now + 30 * DAY,
        "frozen_time": frozen,
        "livemode": False,
        "name": params.get("name") or None,
        "status": "ready",
        "status_details": {},
    }
    ctx.store.put(clock)
    ctx.emit("test_helpers.test_clock.created", render(ctx, clock), created=now)
    return render(ctx, clock, expand_paths(params))


@route("GET", "/v1/test_helpers/test_clocks/{clock_id}")
def retrieve_clock(ctx: Ctx, params: dict[str, Any], clock_id: str) -> dict[str, Any]:
    return render(ctx, get_clock(ctx, clock_id), expand_paths(params))


@route("GET", "/v1/test_helpers/test_clocks", params="limit starting_after ending_before")
def list_clocks(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, ctx.store.all("test_clocks"), params, "/v1/test_helpers/test_clocks")


@route("DELETE", "/v1/test_helpers/test_clocks/{clock_id}")
def delete_clock(ctx: Ctx, params: dict[str, Any], clock_id: str) -> dict[str, Any]:
    get_clock(ctx, clock_id)
    for customer in ctx.store.all("customers"):
        if customer["test_clock"] == clock_id:
            customer["_deleted"] = True
    ctx.store.delete(clock_id)
    return {"id": clock_id, "object": "test_helpers.test_clock", "deleted": True}


@route("POST", "/v1/test_helpers/test_clocks/{clock_id}/advance", params="frozen_time")
def advance_clock(ctx: Ctx, params: dict[str, Any], clock_id: str) -> dict[str, Any]:
    clock = get_clock(ctx, clock_id)
    target = as_int(params, "frozen_time")
    if target is None:
        raise missing("frozen_time")
    if target <= clock["frozen_time"]:
        raise invalid(
            "The frozen_time must be after the current frozen_time of the test clock.",
            "frozen_time",
        )
    clock["status"] = "advancing"
    clock["status_details"] = {"advancing": {"target_frozen_time": target}}
    ctx.emit("test_helpers.test_clock.advancing", render(ctx, clock), created=clock["frozen_time"])
    run_due(ctx, clock_id, target)
    clock["frozen_time"] = target
    clock["status"], clock["status_details"] = "ready", {}
    # advancing happens synchronously here; Stripe answers "advancing" and finishes later
    ctx.emit("test_helpers.test_clock.ready", render(ctx, clock), created=target)
    return render(ctx, clock, expand_paths(params))


def _due(ctx: Ctx, clock_id: str | None) -> list[tuple[int, int, Callable[[], None]]]:
    """Every pending piece of time-driven work for objects on this clock (None: real time)."""
    work = schedules.due_work(ctx, clock_id)
    notice_days = int(ctx.store.settings.get("upcoming_renewal_days") or 0)
    for order, sub in enumerate(ctx.store.all("subscriptions")):
        if sub["test_clock"] != clock_id:
            continue
        pause = sub["pause_collection"]
        if (
            pause
            and pause["resumes_at"]
            and sub["status"] not in ("canceled", "incomplete_expired")
        ):
            work.append((pause["resumes_at"], order, _bind(lifecycle.resume_collection, ctx, sub)))
        renews_at = invoices.upcoming_renewal_at(ctx, sub) if notice_days else None
        if renews_at and sub.get("_upcoming_announced") != renews_at:
            # `invoice.upcoming` X days ahead (only when the period is longer than that)
            notice_at = renews_at - notice_days * DAY
            start = sub["trial_start"] if sub["status"] == "trialing" else sub["_period"][0]
            if notice_at > (start or sub["created"]):
                work.append((notice_at, order, _bind(invoices.announce_upcoming, ctx, sub)))
        status, (_, end) = sub["status"], sub["_period"]
        if status == "trialing":
            if not sub["_twe_sent"]:
                work.append(
                    (
                        sub["trial_end"] - TRIAL_NOTICE,
                        order,
                        _bind(lifecycle.trial_will_end, ctx, sub),
                    )
                )
            if sub["cancel_at"] and sub["cancel_at"] <= sub["trial_end"]:
                work.append((sub["cancel_at"], order, _cancel(ctx, sub)))
            else:
                work.append((sub["trial_end"], order, _bind(lifecycle.end_trial, ctx, sub)))
        elif status in ("active", "past_due", "unpaid"):
            if sub["cancel_at"] and sub["cancel_at"] < end:
                work.append((sub["cancel_at"], order, _cancel(ctx, sub)))
            else:
                work.append((end, order, _bind(lifecycle.renew, ctx, sub)))
        elif status == "incomplete":
            work.append(
                (sub["created"] + INCOMPLETE_EXPIRY, order, _bind(lifecycle.expire, ctx, sub))
            )
    for order, invoice in enumerate(ctx.store.all("invoices")):
        finalizes_at = invoice.get("automatically_finalizes_at")
        if (
            invoice["test_clock"] == clock_id
            and invoice["status"] == "draft"
            and invoice["auto_advance"]
            and finalizes_at
        ):
            work.append(
                (finalizes_at, 10**9 + order, lambda i=invoice: invoicing.auto_finalize(ctx, i))
            )
        due = invoice["next_payment_attempt"]
        if invoice["test_clock"] == clock_id and invoice["status"] == "open" and due:
            work.append((due, 10**9 + order, _retry(ctx, invoice)))
        if (
            invoice["test_clock"] == clock_id
            and invoice["status"] == "open"
            and invoice["due_date"]
            and invoicing.invoiced(invoice)
            and not invoice.get("_overdue")
        ):
            overdue = invoice["due_date"]
            work.append((overdue, 10**9 + order, lambda i=invoice: invoicing.overdue(ctx, i)))
    return work


def _bind(
    fn: Callable[[Ctx, dict[str, Any]], None], ctx: Ctx, sub: dict[str, Any]
) -> Callable[[], None]:
    return lambda: fn(ctx, sub)


def _cancel(ctx: Ctx, sub: dict[str, Any]) -> Callable[[], None]:
    return lambda: lifecycle.cancel_now(ctx, sub, at=sub["cancel_at"])


def _retry(ctx: Ctx, invoice: dict[str, Any]) -> Callable[[], None]:
    def run() -> None:
        scheduled_for = invoice["next_payment_attempt"]
        invoicing.collect(ctx, invoice, off_session=True, scheduled=True)
        if invoice["next_payment_attempt"] == scheduled_for:  # never loop on the same attempt
            invoice["next_payment_attempt"] = None

    return run


def run_due(ctx: Ctx, clock_id: str | None, target: int) -> int:
    """Run due work in time order until ``target``; returns how many steps ran."""
    clock = ctx.store.get(clock_id) if clock_id else None
    steps = 0
    while steps < MAX_STEPS:
        work = [w for w in _due(ctx, clock_id) if w[0] <= target]
        if not work:
            break
        when, _, action = min(work, key=lambda w: (w[0], w[1]))
        if clock is not None:
            clock["frozen_time"] = max(clock["frozen_time"], when)
        action()
        steps += 1
    return steps


# -- events -------------------------------------------------------------------------------------


@route("GET", "/v1/events/{event_id}")
def retrieve_event(ctx: Ctx, params: dict[str, Any], event_id: str) -> dict[str, Any]:
    event = ctx.store.get(event_id)
    if not event or event["object"] != "event":
        raise not_found("event", event_id, "id")
    return render(ctx, event)


@route(
    "GET",
    "/v1/events",
    params="type types created !delivery_success limit starting_after ending_before",
)
def list_events(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    records = created_filter(ctx.store.all("events"), params)
    types = as_list(params, "types") or ([params["type"]] if params.get("type") else [])
    if types:
        records = [e for e in records if any(_type_matches(e["type"], t) for t in types)]
    return page(ctx, records, params, "/v1/events")


def _type_matches(event_type: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern
