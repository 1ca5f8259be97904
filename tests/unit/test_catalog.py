"""billing/catalog.py: the demo catalog of DESIGN.md; a clear error for each kind of bad field."""

from __future__ import annotations

import copy
import tomllib

import pytest

from clerk_portal.billing.catalog import (
    DEFAULT_CATALOG_PATH,
    CatalogError,
    get_catalog,
    load_catalog,
    parse_catalog,
)
from clerk_portal.core.errors import NotFound

LOOKUP_KEYS = [
    "startup_seat_month",
    "startup_seat_year",
    "startup_number_month",
    "startup_number_year",
    "business_seat_month",
    "business_seat_year",
    "business_number_month",
    "business_number_year",
]


@pytest.fixture
def data() -> dict:
    return tomllib.loads(DEFAULT_CATALOG_PATH.read_text())


def problems(data: dict) -> str:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(data)
    return str(caught.value)


def test_the_demo_catalog_matches_the_design():
    catalog = load_catalog()
    assert catalog.currency == "usd"
    assert list(catalog.plans) == ["startup", "business", "enterprise"]
    assert catalog.lookup_keys() == LOOKUP_KEYS

    startup, business = catalog.plan("startup"), catalog.plan("business")
    assert [startup.price_cents(k, i) for k in ("seat", "number") for i in ("month", "year")] == [
        2_900,
        29_000,
        1_000,
        10_000,
    ]
    assert [business.price_cents(k, i) for k in ("seat", "number") for i in ("month", "year")] == [
        4_900,
        49_000,
        800,
        8_000,
    ]
    assert (startup.included_numbers, startup.min_seats, startup.max_seats) == (1, 1, 10)
    assert (business.included_numbers, business.min_seats, business.max_seats) == (3, 1, None)
    assert business.lookup_key("number", "year") == "business_number_year"
    assert catalog.plan("enterprise").contact_sales
    assert [plan.id for plan in catalog.self_serve_plans] == ["startup", "business"]


def test_yearly_is_ten_months_in_the_demo():
    for plan in get_catalog().self_serve_plans:
        for kind in ("seat", "number"):
            assert plan.price_cents(kind, "year") == 10 * plan.price_cents(kind, "month")


def test_find_lookup_key_and_unknown_plan():
    plan, kind, interval = get_catalog().find_lookup_key("startup_number_year")
    assert (plan.id, kind, interval) == ("startup", "number", "year")
    with pytest.raises(NotFound, match="no plan called 'gold'"):
        get_catalog().plan("gold")
    with pytest.raises(NotFound, match="contact sales"):
        get_catalog().plan("enterprise").price_cents("seat", "month")


@pytest.mark.parametrize("bad", [0, -100, 12.5, "2900", True])
def test_a_price_must_be_positive_integer_cents(data, bad):
    data["plans"]["startup"]["seat_price"]["month"] = bad
    assert "catalog.toml: plans.startup.seat_price.month: must be a positive integer (cents)" in (
        problems(data)
    )


def test_a_missing_field_is_named(data):
    del data["plans"]["business"]["number_price"]["year"]
    assert "catalog.toml: plans.business.number_price.year: is required" in problems(data)


def test_an_unknown_field_is_named(data):
    data["plans"]["startup"]["max_seat"] = 12
    assert "plans.startup.max_seat: is not a known field" in problems(data)


def test_every_problem_is_reported_on_its_own_line(data):
    data["plans"]["startup"]["included_numbers"] = -1
    data["plans"]["business"]["name"] = ""
    lines = problems(data).splitlines()
    assert lines == [
        "catalog.toml: plans.startup.included_numbers: must be an integer of 0 or more",
        "catalog.toml: plans.business.name: must be a non-empty string",
    ]


def test_max_seats_below_min_seats(data):
    data["plans"]["startup"]["min_seats"] = 5
    data["plans"]["startup"]["max_seats"] = 3
    assert "plans.startup.max_seats: must be at least min_seats (5)" in problems(data)


def test_yearly_above_twelve_months(data):
    data["plans"]["business"]["number_price"]["year"] = 12 * 800 + 1
    assert "plans.business.number_price.year: must not exceed 12 × month (9600)" in problems(data)


def test_lookup_keys_are_unique_and_well_formed(data):
    duplicated = copy.deepcopy(data)
    duplicated["plans"]["business"]["lookup_keys"]["seat"]["month"] = "startup_seat_month"
    assert (
        "plans.business.lookup_keys.seat.month: 'startup_seat_month' is already used by "
        "plans.startup.lookup_keys.seat.month"
    ) in problems(duplicated)

    data["plans"]["startup"]["lookup_keys"]["number"]["year"] = "Startup Number"
    assert "plans.startup.lookup_keys.number.year: must be 1 to 200 lowercase" in problems(data)


def test_a_self_serve_plan_needs_prices(data):
    del data["plans"]["startup"]["seat_price"]
    assert "plans.startup.seat_price: is required (or set contact_sales = true)" in problems(data)


def test_a_plan_must_be_a_table_and_well_named(data):
    data["plans"]["Gold Plan"] = {"name": "Gold", "contact_sales": True}
    assert "plans.Gold Plan: a plan id must be lowercase" in problems(data)
    del data["plans"]["Gold Plan"]
    data["plans"]["business"]["lookup_keys"] = "business"
    assert "plans.business.lookup_keys: must be a table" in problems(data)


def test_wrong_currency_and_flags(data):
    data["currency"] = "USD"
    data["plans"]["enterprise"]["contact_sales"] = "yes"
    text = problems(data)
    assert 'currency: must be a lowercase ISO currency code such as "usd"' in text
    assert "plans.enterprise.contact_sales: must be true or false" in text


def test_a_file_that_is_not_toml_or_missing(tmp_path):
    broken = tmp_path / "catalog.toml"
    broken.write_text("[plans.startup\nname = 1\n")
    with pytest.raises(CatalogError, match=r"^catalog.toml: not valid TOML"):
        load_catalog(broken)
    with pytest.raises(CatalogError, match="file not found"):
        load_catalog(tmp_path / "nope.toml")


def test_load_catalog_from_a_copy(tmp_path):
    copy_path = tmp_path / "mine.toml"
    copy_path.write_text(
        DEFAULT_CATALOG_PATH.read_text().replace("month = 2900", "month = 3100"), encoding="utf-8"
    )
    assert load_catalog(copy_path).plan("startup").price_cents("seat", "month") == 3_100
    broken = tmp_path / "broken.toml"
    broken.write_text(DEFAULT_CATALOG_PATH.read_text().replace("month = 800", "month = 0"))
    with pytest.raises(CatalogError, match=r"^broken.toml: plans.business.number_price.month"):
        load_catalog(broken)


def test_the_demo_catalog_has_a_retention_coupon_and_a_code():
    catalog = get_catalog()
    retention = catalog.coupon("retention")
    assert (retention.percent_off, retention.duration, retention.duration_in_months) == (
        25,
        "repeating",
        3,
    )
    assert retention.describe() == "25% off for 3 months"
    assert catalog.promotion_codes["LAUNCH20"].coupon == "launch"
    assert catalog.coupon("launch").describe() == "20% off the first invoice"


def test_coupon_terms_are_checked(data):
    retention = data["coupons"]["retention"]
    del retention["duration_in_months"]
    data["coupons"]["launch"]["amount_off"] = 500
    data["coupons"]["launch"]["id"] = retention["id"]
    data["promotion_codes"]["LAUNCH20"]["coupon"] = "nope"
    data["promotion_codes"]["launch20"] = {"coupon": "retention"}
    data["promotion_codes"]["NO-DASH"] = {"coupon": "retention"}
    found = problems(data)
    assert "coupons.retention.duration_in_months: required with duration = 'repeating'" in found
    assert "coupons.launch: give exactly one of percent_off and amount_off" in found
    assert (
        "coupons.launch.id: 'clerk_retention_25_3m' is already used by coupons.retention" in found
    )
    assert "promotion_codes.LAUNCH20.coupon: 'nope' is not a key of [coupons]" in found
    assert "promotion_codes.launch20: codes are case-insensitive" in found
    assert "promotion_codes.NO-DASH: a code is letters and digits only" in found
    data = tomllib.loads(DEFAULT_CATALOG_PATH.read_text())
    data["coupons"]["retention"]["percent_off"] = 100.5
    assert "coupons.retention.percent_off: more than 0, at most 100" in problems(data)
