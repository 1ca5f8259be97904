"""The plan catalog: plans, prices per interval, limits and Stripe lookup keys, read from TOML;
coupons (`[coupons.<key>]`, Stripe's coupon terms under a stable Stripe id) and the promotion
codes customers type (`[promotion_codes.<CODE>]`, each naming a coupon key).

`load_catalog()` validates the whole file and raises `CatalogError` whose message names the file
and the field path (`catalog.toml: plans.startup.seat_price.month: must be a positive integer
(cents)`). `get_catalog()` is the cached default the rest of the portal uses; calling it at start
makes a bad file stop the portal before it serves anyone.
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeGuard

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError

from clerk_portal.core.errors import NotFound

Kind = Literal["seat", "number"]
Interval = Literal["month", "year"]
KINDS: tuple[Kind, ...] = ("seat", "number")
INTERVALS: tuple[Interval, ...] = ("month", "year")


def is_interval(value: object) -> TypeGuard[Interval]:
    """True for "month" and "year": narrows a string read from a row or a form to `Interval`."""
    return value in INTERVALS


DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.toml")

_LOOKUP_KEY = re.compile(r"[a-z0-9_]{1,200}")
_PLAN_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")


class CatalogError(ValueError):
    """The catalog file cannot be used; the message names the file and the field."""


# --- field types with messages a person can act on --------------------------------------------


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_cents(value: object) -> int:
    if not _is_int(value) or value <= 0:
        raise ValueError("must be a positive integer (cents)")
    return value


def _positive_int(value: object) -> int:
    if not _is_int(value) or value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _count(value: object) -> int:
    if not _is_int(value) or value < 0:
        raise ValueError("must be an integer of 0 or more")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def _lookup_key(value: object) -> str:
    if not isinstance(value, str) or not _LOOKUP_KEY.fullmatch(value):
        raise ValueError("must be 1 to 200 lowercase letters, digits or underscores")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _currency(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z]{3}", value):
        raise ValueError('must be a lowercase ISO currency code such as "usd"')
    return value


Cents = Annotated[int, PlainValidator(_positive_cents)]
PositiveInt = Annotated[int, PlainValidator(_positive_int)]
Count = Annotated[int, PlainValidator(_count)]
Text = Annotated[str, PlainValidator(_text)]
LookupKey = Annotated[str, PlainValidator(_lookup_key)]
Flag = Annotated[bool, PlainValidator(_flag)]
Currency = Annotated[str, PlainValidator(_currency)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PerInterval(_Model):
    month: Cents
    year: Cents


class LookupKeyPair(_Model):
    month: LookupKey
    year: LookupKey


class LookupKeys(_Model):
    seat: LookupKeyPair
    number: LookupKeyPair


class Plan(_Model):
    """One plan. A `contact_sales` plan (Enterprise) has no prices: it is sold through a form."""

    id: str
    rank: int  # position in the file, cheapest first; decides upgrade vs downgrade
    name: Text
    description: str = ""
    contact_sales: Flag = False
    included_numbers: Count = 0
    min_seats: PositiveInt = 1
    max_seats: PositiveInt | None = None  # None: unlimited
    max_numbers: Count | None = None  # None: unlimited
    seat_price: PerInterval | None = None
    number_price: PerInterval | None = None
    lookup_keys: LookupKeys | None = None

    @property
    def self_serve(self) -> bool:
        return not self.contact_sales

    def price_cents(self, kind: Kind, interval: Interval) -> int:
        """Unit amount in cents of one seat or one extra number for one interval."""
        prices = {"seat": self.seat_price, "number": self.number_price}[kind]
        if prices is None:
            raise NotFound(f"{self.name} has no published prices: contact sales.")
        return prices.month if interval == "month" else prices.year

    def lookup_key(self, kind: Kind, interval: Interval) -> str:
        if self.lookup_keys is None:
            raise NotFound(f"{self.name} has no published prices: contact sales.")
        pair = self.lookup_keys.seat if kind == "seat" else self.lookup_keys.number
        return pair.month if interval == "month" else pair.year


CouponDuration = Literal["once", "repeating", "forever"]
_COUPON_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CODE = re.compile(r"[A-Za-z0-9]{1,64}")


class Coupon(_Model):
    """A Stripe coupon: `percent_off` (up to two decimals) or `amount_off` cents, a duration."""

    id: str  # the Stripe coupon id (stable: coupons cannot change their terms)
    name: Text
    percent_off: float | None = None
    amount_off: Cents | None = None
    duration: CouponDuration
    duration_in_months: PositiveInt | None = None

    def describe(self) -> str:
        return describe_coupon(
            self.percent_off, self.amount_off, self.duration, self.duration_in_months
        )


def describe_coupon(
    percent_off: float | None, amount_off: int | None, duration: str, months: int | None
) -> str:
    """ "25% off for 3 months", "$10.00 off the first invoice", "20% off" (forever)."""
    off = (
        f"{percent_off:g}% off"
        if percent_off is not None
        else f"${(amount_off or 0) / 100:,.2f} off"
    )
    if duration == "once":
        return f"{off} the first invoice"
    if duration == "repeating":
        return f"{off} for {months or 0} month{'s' if months != 1 else ''}"
    return off


class PromotionCode(_Model):
    code: str
    coupon: str  # a key of [coupons]
    max_redemptions: PositiveInt | None = None


class Catalog(_Model):
    currency: Currency = "usd"
    plans: dict[str, Plan]
    coupons: dict[str, Coupon] = {}
    promotion_codes: dict[str, PromotionCode] = {}

    def coupon(self, key: str) -> Coupon:
        try:
            return self.coupons[key]
        except KeyError:
            raise NotFound(f"There is no coupon called {key!r}.") from None

    def plan(self, plan_id: str) -> Plan:
        try:
            return self.plans[plan_id]
        except KeyError:
            raise NotFound(f"There is no plan called {plan_id!r}.") from None

    @property
    def self_serve_plans(self) -> list[Plan]:
        return [plan for plan in self.plans.values() if plan.self_serve]

    def prices(self) -> list[tuple[Plan, Kind, Interval]]:
        """Every published price: (plan, kind, interval), in file order."""
        return [
            (plan, kind, interval)
            for plan in self.self_serve_plans
            for kind in KINDS
            for interval in INTERVALS
        ]

    def lookup_keys(self) -> list[str]:
        return [plan.lookup_key(kind, interval) for plan, kind, interval in self.prices()]

    def find_lookup_key(self, lookup_key: str) -> tuple[Plan, Kind, Interval]:
        for plan, kind, interval in self.prices():
            if plan.lookup_key(kind, interval) == lookup_key:
                return plan, kind, interval
        raise NotFound(f"No catalog price has the lookup key {lookup_key!r}.")


# --- loading ----------------------------------------------------------------------------------


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog file (default: the one next to this module)."""
    path = Path(path) if path else DEFAULT_CATALOG_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{path}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CatalogError(f"{path.name}: not valid TOML: {error}") from None
    return parse_catalog(data, source=path.name)


def parse_catalog(data: dict[str, Any], *, source: str = "catalog.toml") -> Catalog:
    problems = _plan_id_problems(data)
    if not problems:
        try:
            catalog = Catalog.model_validate(_with_plan_ids(data))
        except ValidationError as error:
            problems = list(dict.fromkeys(_describe(detail) for detail in error.errors()))
        else:
            problems = _consistency_problems(catalog)
    if problems:
        raise CatalogError("\n".join(f"{source}: {problem}" for problem in problems))
    return catalog


@functools.cache
def get_catalog() -> Catalog:
    return load_catalog()


def _with_plan_ids(data: dict[str, Any]) -> dict[str, Any]:
    codes = data.get("promotion_codes")
    if isinstance(codes, dict):  # the table name is the code
        data = {
            **data,
            "promotion_codes": {
                code: {**body, "code": code} if isinstance(body, dict) else body
                for code, body in codes.items()
            },
        }
    plans = data.get("plans")
    if not isinstance(plans, dict):
        return data
    return {
        **data,
        "plans": {
            plan_id: {**body, "id": plan_id, "rank": rank} if isinstance(body, dict) else body
            for rank, (plan_id, body) in enumerate(plans.items())
        },
    }


def _plan_id_problems(data: dict[str, Any]) -> list[str]:
    plans = data.get("plans")
    if not isinstance(plans, dict):
        return [] if "plans" not in data else ["plans: must be a table of plans"]
    problems = [
        f"plans.{plan_id}: a plan id must be lowercase letters, digits or underscores"
        for plan_id in plans
        if not _PLAN_ID.fullmatch(plan_id)
    ]
    for plan_id, body in plans.items():
        if isinstance(body, dict) and ({"id", "rank"} & body.keys()):
            problems.append(f"plans.{plan_id}: 'id' and 'rank' come from the table name and order")
    return problems


def _describe(detail: Any) -> str:
    path = ".".join(str(part) for part in detail["loc"]) or "catalog"
    kind = detail["type"]
    if kind == "missing":
        return f"{path}: is required"
    if kind == "extra_forbidden":
        return f"{path}: is not a known field (check the spelling)"
    message = str(detail["msg"]).removeprefix("Value error, ")
    if kind in ("model_type", "dict_type"):
        message = "must be a table"
    return f"{path}: {message[:1].lower()}{message[1:]}"


def _consistency_problems(catalog: Catalog) -> list[str]:
    problems: list[str] = []
    if not catalog.self_serve_plans:
        problems.append("plans: at least one plan needs prices (contact_sales = false)")
    seen_keys: dict[str, str] = {}
    for plan in catalog.plans.values():
        where = f"plans.{plan.id}"
        if plan.max_seats is not None and plan.max_seats < plan.min_seats:
            problems.append(f"{where}.max_seats: must be at least min_seats ({plan.min_seats})")
        if plan.contact_sales:
            continue
        for field in ("seat_price", "number_price", "lookup_keys"):
            if getattr(plan, field) is None:
                problems.append(f"{where}.{field}: is required (or set contact_sales = true)")
        for field in ("seat_price", "number_price"):
            prices = getattr(plan, field)
            if prices is not None and prices.year > 12 * prices.month:
                problems.append(
                    f"{where}.{field}.year: must not exceed 12 × month ({12 * prices.month})"
                )
        if plan.lookup_keys is None:
            continue
        for kind in KINDS:
            for interval in INTERVALS:
                key = plan.lookup_key(kind, interval)
                field = f"{where}.lookup_keys.{kind}.{interval}"
                if key in seen_keys:
                    problems.append(f"{field}: {key!r} is already used by {seen_keys[key]}")
                seen_keys[key] = field
    return problems + _coupon_problems(catalog)


def _coupon_problems(catalog: Catalog) -> list[str]:
    problems: list[str] = []
    seen_ids: dict[str, str] = {}
    for key, coupon in catalog.coupons.items():
        where = f"coupons.{key}"
        if not _COUPON_ID.fullmatch(coupon.id):
            problems.append(f"{where}.id: letters, digits, '-' or '_' (at most 64)")
        if coupon.id in seen_ids:
            problems.append(f"{where}.id: {coupon.id!r} is already used by {seen_ids[coupon.id]}")
        seen_ids[coupon.id] = where
        if (coupon.percent_off is None) == (coupon.amount_off is None):
            problems.append(f"{where}: give exactly one of percent_off and amount_off")
        if coupon.percent_off is not None and not (
            0 < coupon.percent_off <= 100 and round(coupon.percent_off, 2) == coupon.percent_off
        ):
            problems.append(f"{where}.percent_off: more than 0, at most 100, two decimals")
        if (coupon.duration == "repeating") != (coupon.duration_in_months is not None):
            problems.append(
                f"{where}.duration_in_months: required with duration = 'repeating' (only then)"
            )
    seen_codes: set[str] = set()
    for code, promo in catalog.promotion_codes.items():
        where = f"promotion_codes.{code}"
        if not _CODE.fullmatch(code):
            problems.append(f"{where}: a code is letters and digits only")
        if code.lower() in seen_codes:
            problems.append(f"{where}: codes are case-insensitive; this one is already used")
        seen_codes.add(code.lower())
        if promo.coupon not in catalog.coupons:
            problems.append(f"{where}.coupon: {promo.coupon!r} is not a key of [coupons]")
    return problems
