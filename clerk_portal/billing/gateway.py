"""The only module that imports `stripe`: an async StripeClient behind small typed results.

Production talks to Stripe; demos and tests talk to the sandbox (`STRIPE_API_BASE`). Writes carry
explicit idempotency keys derived from the action, so a retried command repeats nothing.
This first cut holds what `sync-catalog` needs; the billing engine adds its calls here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import stripe

from clerk_portal.domain_errors import DomainError
from clerk_portal.settings import Settings, get_settings

_LOOKUP_KEYS_PER_LIST = 10  # Stripe's limit for `lookup_keys[]` on GET /v1/prices


class GatewayError(DomainError):
    """Stripe refused or could not be reached; `message` says which call and why."""


@dataclass(frozen=True)
class ProductInfo:
    id: str
    name: str
    active: bool
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PriceInfo:
    id: str
    product_id: str
    unit_amount: int | None
    currency: str
    interval: str | None
    active: bool
    lookup_key: str | None
    metadata: dict[str, str] = field(default_factory=dict)


class StripeGateway:
    def __init__(self, client: stripe.StripeClient, http_client: stripe.HTTPClient) -> None:
        self._client = client
        self._http_client = http_client

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> StripeGateway:
        settings = settings or get_settings()
        http_client = stripe.HTTPXClient()
        base = settings.stripe_api_base_url
        client = stripe.StripeClient(
            settings.stripe_secret,
            base_addresses={"api": base} if base else None,
            http_client=http_client,
            max_network_retries=2,
        )
        return cls(client, http_client)

    async def aclose(self) -> None:
        await self._http_client.close_async()

    async def __aenter__(self) -> StripeGateway:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # --- products ---------------------------------------------------------------------------

    async def retrieve_product(self, product_id: str) -> ProductInfo | None:
        """The product, or None when Stripe has no product with that id."""
        try:
            product = await self._client.v1.products.retrieve_async(product_id)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise _gateway_error("retrieve product", error) from error
        except stripe.StripeError as error:
            raise _gateway_error("retrieve product", error) from error
        return _product(product)

    async def create_product(
        self,
        *,
        product_id: str,
        name: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
    ) -> ProductInfo:
        params: Any = {"id": product_id, "name": name, "metadata": dict(metadata)}
        product = await self._call(
            "create product",
            self._client.v1.products.create_async(params, {"idempotency_key": idempotency_key}),
        )
        return _product(product)

    async def update_product(
        self, product_id: str, *, name: str, active: bool, metadata: Mapping[str, str]
    ) -> ProductInfo:
        params: Any = {"name": name, "active": active, "metadata": dict(metadata)}
        product = await self._call(
            "update product", self._client.v1.products.update_async(product_id, params)
        )
        return _product(product)

    # --- prices -----------------------------------------------------------------------------

    async def list_prices_by_lookup_keys(self, lookup_keys: Iterable[str]) -> list[PriceInfo]:
        """Every price (active or not) that holds one of the lookup keys."""
        keys = list(dict.fromkeys(lookup_keys))
        found: list[PriceInfo] = []
        for start in range(0, len(keys), _LOOKUP_KEYS_PER_LIST):
            params: Any = {"lookup_keys": keys[start : start + _LOOKUP_KEYS_PER_LIST], "limit": 100}
            page = await self._call("list prices", self._client.v1.prices.list_async(params))
            found += [_price(price) for price in page.data]
        return found

    async def create_price(
        self,
        *,
        product_id: str,
        unit_amount: int,
        currency: str,
        interval: str,
        lookup_key: str,
        idempotency_key: str,
        transfer_lookup_key: bool = True,
        nickname: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> PriceInfo:
        """A recurring per-unit price; `transfer_lookup_key` takes the key from its holder."""
        params: Any = {
            "product": product_id,
            "unit_amount": unit_amount,
            "currency": currency,
            "recurring": {"interval": interval, "usage_type": "licensed"},
            "lookup_key": lookup_key,
            "transfer_lookup_key": transfer_lookup_key,
            "metadata": dict(metadata or {}),
        }
        if nickname:
            params["nickname"] = nickname
        price = await self._call(
            "create price",
            self._client.v1.prices.create_async(params, {"idempotency_key": idempotency_key}),
        )
        return _price(price)

    async def set_price_active(self, price_id: str, *, active: bool) -> PriceInfo:
        """Prices are immutable but can be retired (`active=False`) or brought back.

        No explicit idempotency key: setting a flag is idempotent by itself, and a key per price
        would replay a stale answer after the flag went back and forth within 24 hours.
        """
        params: Any = {"active": active}
        price = await self._call(
            "update price", self._client.v1.prices.update_async(price_id, params)
        )
        return _price(price)

    async def deactivate_price(self, price_id: str) -> PriceInfo:
        return await self.set_price_active(price_id, active=False)

    # --- plumbing ---------------------------------------------------------------------------

    @staticmethod
    async def _call(action: str, request: Any) -> Any:
        try:
            return await request
        except stripe.StripeError as error:
            raise _gateway_error(action, error) from error


def _gateway_error(action: str, error: stripe.StripeError) -> GatewayError:
    reason = error.user_message or str(error) or type(error).__name__
    return GatewayError(f"Stripe could not {action}: {reason}")


def _product(product: Any) -> ProductInfo:
    return ProductInfo(
        id=product.id,
        name=product.name,
        active=bool(product.active),
        metadata=_metadata(product.metadata),
    )


def _price(price: Any) -> PriceInfo:
    recurring = price.recurring
    product = price.product
    return PriceInfo(
        id=price.id,
        product_id=product if isinstance(product, str) else product.id,
        unit_amount=price.unit_amount,
        currency=price.currency,
        interval=recurring.interval if recurring else None,
        active=bool(price.active),
        lookup_key=price.lookup_key,
        metadata=_metadata(price.metadata),
    )


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    return value.to_dict() if hasattr(value, "to_dict") else dict(value)
