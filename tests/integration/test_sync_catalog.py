"""`sync-catalog` against the Stripe sandbox (a real process, reached through the official SDK)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from clerk_portal.billing.catalog import DEFAULT_CATALOG_PATH, get_catalog, load_catalog
from clerk_portal.billing.catalog_sync import sync_catalog
from clerk_portal.billing.gateway import GatewayError, StripeGateway
from clerk_portal.core.settings import PROJECT_ROOT, Settings
from tests.support.sandbox import SECRET_KEY, SandboxProcess, start_sandbox

LOOKUP_KEYS = set(get_catalog().lookup_keys())
# stripe-python's HTTPX client posts bytes with `data=`, which httpx deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture(scope="module")
def sandbox_process() -> Iterator[SandboxProcess]:
    process = start_sandbox()
    yield process
    process.stop()


@pytest.fixture
def sandbox(sandbox_process: SandboxProcess) -> SandboxProcess:
    sandbox_process.reset()
    return sandbox_process


def gateway_for(sandbox: SandboxProcess, secret: str = SECRET_KEY) -> StripeGateway:
    return StripeGateway.from_settings(
        Settings(stripe_api_base=sandbox.url, stripe_secret_key=secret)
    )


async def sync(sandbox: SandboxProcess, catalog_path: Path | None = None):
    async with gateway_for(sandbox) as gateway:
        return await sync_catalog(gateway, load_catalog(catalog_path))


def keyed_prices(sandbox: SandboxProcess, *, active: bool | None = True) -> dict[str, object]:
    """Prices holding one of the catalog's lookup keys, by key."""
    params: dict[str, object] = {"limit": 100}
    if active is not None:
        params["active"] = active
    prices = sandbox.client().v1.prices.list(params).data  # type: ignore[arg-type]
    return {price.lookup_key: price for price in prices if price.lookup_key in LOOKUP_KEYS}


def changed_catalog(tmp_path: Path) -> Path:
    """A copy of the catalog where the Startup seat costs $31.00 a month."""
    path = tmp_path / "catalog.toml"
    text = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
    assert text.count("seat_price = { month = 2900,") == 1
    path.write_text(text.replace("seat_price = { month = 2900,", "seat_price = { month = 3100,"))
    return path


async def test_two_runs_leave_exactly_the_eight_prices(sandbox):
    first = await sync(sandbox)
    assert first.counts()["created"] == 8
    assert set(first.products.values()) == {"created"}

    second = await sync(sandbox)
    assert second.counts() == {"unchanged": 8, "created": 0, "replaced": 0, "reactivated": 0}
    assert not second.changed
    assert [p.price_id for p in second.prices] == [p.price_id for p in first.prices]

    prices = keyed_prices(sandbox)
    assert set(prices) == LOOKUP_KEYS
    catalog = get_catalog()
    for plan, kind, interval in catalog.prices():
        price = prices[plan.lookup_key(kind, interval)]
        assert price.unit_amount == plan.price_cents(kind, interval)
        assert price.recurring.interval == interval
        assert price.currency == "usd"
        assert price.product == f"prod_clerk_{plan.id}_{kind}"


async def test_a_changed_amount_creates_a_new_price_and_moves_the_lookup_key(sandbox, tmp_path):
    original = {p.lookup_key: p.price_id for p in (await sync(sandbox)).prices}
    changed = changed_catalog(tmp_path)

    report = await sync(sandbox, changed)

    outcomes = {p.lookup_key: p.outcome for p in report.prices}
    assert outcomes.pop("startup_seat_month") == "replaced"
    assert set(outcomes.values()) == {"unchanged"}
    [replaced] = [p for p in report.prices if p.outcome == "replaced"]
    assert replaced.replaced_price_id == original["startup_seat_month"]
    assert replaced.price_id != original["startup_seat_month"]

    client = sandbox.client()
    new_price = client.v1.prices.retrieve(replaced.price_id)
    old_price = client.v1.prices.retrieve(original["startup_seat_month"])
    assert (new_price.lookup_key, new_price.unit_amount, new_price.active) == (
        "startup_seat_month",
        3_100,
        True,
    )
    assert (old_price.lookup_key, old_price.unit_amount, old_price.active) == (None, 2_900, False)

    again = await sync(sandbox, changed)
    assert again.counts()["unchanged"] == 8
    assert set(keyed_prices(sandbox)) == LOOKUP_KEYS
    assert len(keyed_prices(sandbox)) == 8

    # Back to the original amount: a third price (prices are immutable), not a replay.
    back = await sync(sandbox)
    [restored] = [p for p in back.prices if p.outcome == "replaced"]
    assert restored.price_id not in (original["startup_seat_month"], replaced.price_id)
    assert keyed_prices(sandbox)["startup_seat_month"].unit_amount == 2_900


async def test_a_deactivated_price_is_reactivated(sandbox):
    first = await sync(sandbox)
    price_id = first.prices[0].price_id
    sandbox.client().v1.prices.update(price_id, {"active": False})

    report = await sync(sandbox)

    assert report.prices[0].outcome == "reactivated"
    assert report.prices[0].price_id == price_id
    assert len(keyed_prices(sandbox)) == 8


async def test_stripe_refusals_become_a_gateway_error(sandbox):
    with pytest.raises(GatewayError, match="Stripe could not"):
        async with gateway_for(sandbox, secret="not_a_key") as gateway:
            await sync_catalog(gateway, get_catalog())


async def test_coupons_and_promotion_codes_are_synced_once(sandbox):
    first = await sync(sandbox)
    assert first.coupons == {"clerk_retention_25_3m": "created", "clerk_launch_20_once": "created"}
    assert first.promotion_codes == {"LAUNCH20": "created"}
    second = await sync(sandbox)
    assert set(second.coupons.values()) == set(second.promotion_codes.values()) == {"unchanged"}
    assert not second.changed

    client = sandbox.client()
    retention = client.v1.coupons.retrieve("clerk_retention_25_3m")
    assert (retention.percent_off, retention.duration, retention.duration_in_months) == (
        25,
        "repeating",
        3,
    )
    [promo] = client.v1.promotion_codes.list({"code": "launch20"}).data
    assert promo.promotion.coupon == "clerk_launch_20_once" and promo.active
    assert len(client.v1.coupons.list().data) == 2


async def test_a_coupon_stripe_has_with_other_terms_stops_the_sync(sandbox):
    sandbox.client().v1.coupons.create(
        {"id": "clerk_retention_25_3m", "percent_off": 30, "duration": "forever"}
    )
    with pytest.raises(GatewayError, match="give the catalog's coupon a new id"):
        await sync(sandbox)
    sandbox.client().v1.coupons.delete("clerk_retention_25_3m")
    renamed = sandbox.client().v1.coupons.create(
        {
            "id": "clerk_retention_25_3m",
            "percent_off": 25,
            "duration": "repeating",
            "duration_in_months": 3,
            "name": "Old name",
        }
    )
    assert renamed.name == "Old name"
    report = await sync(sandbox)
    assert report.coupons["clerk_retention_25_3m"] == "updated"
    name = sandbox.client().v1.coupons.retrieve("clerk_retention_25_3m").name
    assert name == get_catalog().coupon("retention").name


def run_cli(sandbox: SandboxProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STRIPE_API_BASE": sandbox.url,
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "PORTAL_MODE": "demo",
    }
    return subprocess.run(
        [sys.executable, "-m", "clerk_portal", "sync-catalog", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_command_twice(sandbox, tmp_path):
    first = run_cli(sandbox)
    assert first.returncode == 0, first.stderr
    assert "startup_seat_month: created" in first.stdout
    assert first.stdout.strip().endswith("8 prices: 8 created")

    second = run_cli(sandbox)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip().endswith("8 prices: 8 unchanged")

    broken = tmp_path / "broken.toml"
    broken.write_text(DEFAULT_CATALOG_PATH.read_text().replace("month = 800", "month = -800"))
    refused = run_cli(sandbox, "--catalog", str(broken))
    assert refused.returncode == 2
    assert "plans.business.number_price.month: must be a positive integer (cents)" in (
        refused.stderr
    )
