"""Stripe API resources. Importing this package registers every /v1 route."""

from . import (
    catalog,
    clocks,
    coupons,
    customers,
    invoices,
    payment_intents,
    payment_methods,
    quotes,
    schedules,
    subscriptions,
    tax_ids,
)

__all__ = [
    "catalog",
    "clocks",
    "coupons",
    "customers",
    "invoices",
    "payment_intents",
    "payment_methods",
    "quotes",
    "schedules",
    "subscriptions",
    "tax_ids",
]
