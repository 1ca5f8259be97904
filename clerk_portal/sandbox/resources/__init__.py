"""Stripe API resources. Importing this package registers every /v1 route."""

from . import (
    catalog,
    clocks,
    coupons,
    customers,
    invoices,
    payment_intents,
    payment_methods,
    schedules,
    subscriptions,
)

__all__ = [
    "catalog",
    "clocks",
    "coupons",
    "customers",
    "invoices",
    "payment_intents",
    "payment_methods",
    "schedules",
    "subscriptions",
]
