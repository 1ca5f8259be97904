"""`python -m clerk_portal sync-catalog`: make Stripe's products and prices match the catalog.

Products have stable ids (`prod_clerk_<plan>_<kind>`); prices are found by lookup key. A price
that already matches (amount, currency, interval, product, active) is left alone, so a second run
changes nothing. Stripe prices are immutable: a changed amount creates a new price that takes the
lookup key (`transfer_lookup_key`), and the old price is deactivated.

Coupons are created under their catalog id; Stripe never changes a coupon's terms, so a coupon
that exists with other terms stops the sync with a message (give it a new id); only its name is
updated. Promotion codes are found by code among the active ones and created when missing; an
active code that points at another coupon stops the sync too.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from clerk_portal.billing.catalog import (
    Catalog,
    CatalogError,
    Coupon,
    Interval,
    Kind,
    Plan,
    PromotionCode,
    load_catalog,
)
from clerk_portal.billing.gateway import (
    BillingGateway,
    CouponInfo,
    GatewayError,
    PriceInfo,
    StripeGateway,
)
from clerk_portal.billing.pricing import format_cents

Outcome = Literal["unchanged", "created", "replaced", "reactivated"]
KIND_NAMES = {"seat": "seat", "number": "extra phone number"}


@dataclass(frozen=True)
class PriceSync:
    lookup_key: str
    outcome: Outcome
    price_id: str
    unit_amount: int
    interval: Interval
    replaced_price_id: str | None = None

    def describe(self, currency: str = "usd") -> str:
        amount = f"{format_cents(self.unit_amount, currency)} / {self.interval}"
        replaced = f", replaces {self.replaced_price_id}" if self.replaced_price_id else ""
        return f"{self.lookup_key}: {self.outcome} ({self.price_id}, {amount}{replaced})"


@dataclass(frozen=True)
class SyncReport:
    prices: tuple[PriceSync, ...]
    products: dict[str, str]  # product id → "unchanged" | "created" | "updated"
    coupons: dict[str, str] = field(default_factory=dict)  # coupon id → the same outcomes
    promotion_codes: dict[str, str] = field(default_factory=dict)  # code → "unchanged" | "created"

    def counts(self) -> dict[str, int]:
        counted = Counter(price.outcome for price in self.prices)
        return {outcome: counted.get(outcome, 0) for outcome in get_args(Outcome)}

    @property
    def changed(self) -> bool:
        outcomes = [*self.products.values(), *self.coupons.values()]
        outcomes += self.promotion_codes.values()
        return any(price.outcome != "unchanged" for price in self.prices) or any(
            outcome != "unchanged" for outcome in outcomes
        )


def product_id(plan: Plan, kind: Kind) -> str:
    return f"prod_clerk_{plan.id}_{kind}"


async def sync_catalog(gateway: BillingGateway, catalog: Catalog) -> SyncReport:
    products = {
        product_id(plan, kind): await _ensure_product(gateway, plan, kind)
        for plan in catalog.self_serve_plans
        for kind in ("seat", "number")
    }
    holders = {
        price.lookup_key: price
        for price in await gateway.list_prices_by_lookup_keys(catalog.lookup_keys())
        if price.lookup_key
    }
    prices = []
    for plan, kind, interval in catalog.prices():
        key = plan.lookup_key(kind, interval)
        prices.append(await _sync_price(gateway, catalog, plan, kind, interval, holders.get(key)))
    coupons = {
        coupon.id: await _sync_coupon(gateway, catalog, key, coupon)
        for key, coupon in catalog.coupons.items()
    }
    codes = {
        code: await _sync_promotion_code(gateway, catalog, promo)
        for code, promo in catalog.promotion_codes.items()
    }
    return SyncReport(tuple(prices), products, coupons, codes)


def _terms(coupon: Coupon | CouponInfo, currency: str) -> tuple[object, ...]:
    amount_currency = currency if coupon.amount_off is not None else None
    if isinstance(coupon, CouponInfo):
        amount_currency = coupon.currency if coupon.amount_off is not None else None
    return (
        coupon.percent_off,
        coupon.amount_off,
        amount_currency,
        coupon.duration,
        coupon.duration_in_months,
    )


async def _sync_coupon(gateway: BillingGateway, catalog: Catalog, key: str, coupon: Coupon) -> str:
    existing = await gateway.retrieve_coupon(coupon.id)
    if existing is None:
        await gateway.create_coupon(
            coupon_id=coupon.id,
            name=coupon.name,
            percent_off=coupon.percent_off,
            amount_off=coupon.amount_off,
            currency=catalog.currency,
            duration=coupon.duration,
            duration_in_months=coupon.duration_in_months,
            idempotency_key=f"catalog:coupon:{coupon.id}",
        )
        return "created"
    if _terms(existing, catalog.currency) != _terms(coupon, catalog.currency):
        raise GatewayError(
            f"Stripe's coupon {coupon.id} has other terms than coupons.{key} in the catalog, and "
            "Stripe never changes a coupon's terms: give the catalog's coupon a new id."
        )
    if existing.name == coupon.name:
        return "unchanged"
    await gateway.rename_coupon(coupon.id, name=coupon.name)
    return "updated"


async def _sync_promotion_code(
    gateway: BillingGateway, catalog: Catalog, promo: PromotionCode
) -> str:
    coupon_id = catalog.coupon(promo.coupon).id
    existing = await gateway.find_promotion_code(promo.code)
    if existing is None:
        await gateway.create_promotion_code(
            code=promo.code,
            coupon_id=coupon_id,
            max_redemptions=promo.max_redemptions,
            idempotency_key=f"catalog:promotion_code:{promo.code}:{coupon_id}",
        )
        return "created"
    if existing.coupon_id != coupon_id:
        raise GatewayError(
            f"The active promotion code {existing.code} points at coupon {existing.coupon_id}, "
            f"not {coupon_id}: deactivate it at Stripe first."
        )
    return "unchanged"


async def _ensure_product(gateway: BillingGateway, plan: Plan, kind: Kind) -> str:
    wanted_id = product_id(plan, kind)
    name = f"Clerk Chat {plan.name} {KIND_NAMES[kind]}"
    metadata = {"clerk_plan": plan.id, "clerk_kind": kind}
    product = await gateway.retrieve_product(wanted_id)
    if product is None:
        await gateway.create_product(
            product_id=wanted_id,
            name=name,
            metadata=metadata,
            idempotency_key=f"catalog:product:{wanted_id}",
        )
        return "created"
    if (product.name, product.active) == (
        name,
        True,
    ) and metadata.items() <= product.metadata.items():
        return "unchanged"
    await gateway.update_product(wanted_id, name=name, active=True, metadata=metadata)
    return "updated"


async def _sync_price(
    gateway: BillingGateway,
    catalog: Catalog,
    plan: Plan,
    kind: Kind,
    interval: Interval,
    holder: PriceInfo | None,
) -> PriceSync:
    key = plan.lookup_key(kind, interval)
    amount = plan.price_cents(kind, interval)
    wanted = (product_id(plan, kind), amount, catalog.currency, interval)
    if (
        holder
        and (holder.product_id, holder.unit_amount, holder.currency, holder.interval) == wanted
    ):
        if holder.active:
            return PriceSync(key, "unchanged", holder.id, amount, interval)
        await gateway.set_price_active(holder.id, active=True)
        return PriceSync(key, "reactivated", holder.id, amount, interval)

    # The previous holder is part of the key: going back to an old amount is a new action.
    replaces = holder.id if holder else "none"
    price = await gateway.create_price(
        product_id=product_id(plan, kind),
        unit_amount=amount,
        currency=catalog.currency,
        interval=interval,
        lookup_key=key,
        transfer_lookup_key=True,
        nickname=f"{plan.name} {KIND_NAMES[kind]} ({interval}ly)",
        metadata={"clerk_plan": plan.id, "clerk_kind": kind},
        idempotency_key=f"catalog:price:{key}:{amount}:{catalog.currency}:{interval}:{replaces}",
    )
    if holder is None:
        return PriceSync(key, "created", price.id, amount, interval)
    if holder.active:
        await gateway.deactivate_price(holder.id)
    return PriceSync(key, "replaced", price.id, amount, interval, replaced_price_id=holder.id)


async def _sync_with_settings(catalog: Catalog) -> SyncReport:
    async with StripeGateway.from_settings() as gateway:
        return await sync_catalog(gateway, catalog)


def run(catalog_path: str | Path | None = None) -> int:
    """The CLI command: one line per price, then a summary; exit 0, or 1/2 with a reason."""
    try:
        catalog = load_catalog(catalog_path)
    except CatalogError as error:
        print(f"sync-catalog: {error}", file=sys.stderr)
        return 2
    for noisy in ("stripe", "httpx"):  # one line per price is the output, not one per request
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        report = asyncio.run(_sync_with_settings(catalog))
    except GatewayError as error:
        print(f"sync-catalog: {error.message}", file=sys.stderr)
        return 1
    for product, outcome in report.products.items():
        if outcome != "unchanged":
            print(f"{product}: product {outcome}")
    for price in report.prices:
        print(price.describe(catalog.currency))
    for coupon_id, outcome in report.coupons.items():
        print(f"coupon {coupon_id}: {outcome}")
    for code, outcome in report.promotion_codes.items():
        print(f"promotion code {code}: {outcome}")
    counts = ", ".join(f"{count} {outcome}" for outcome, count in report.counts().items() if count)
    print(f"{len(report.prices)} prices: {counts}")
    return 0
