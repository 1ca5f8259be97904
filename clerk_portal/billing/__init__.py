"""Money, owned by Stripe and mirrored in SQL.

- `catalog` (+ `catalog.toml`) the plans and prices as data, synced to Stripe by lookup key
  (`catalog_sync`); `pricing` the pure math in integer cents.
- `gateway/` the `BillingGateway` protocol, its Stripe implementation (the only `stripe` importer)
  and an in-memory fake for fast tests.
- `mirror` writes Stripe's answers into the tables (compare-and-swap on Stripe's own versions);
  `ledger` the billing history (activity lines, invoices) and sales leads.
- `webhooks/` Stripe's events: route, inbox (stored once, claimed, retried), handlers by type.
- `services/` the use cases (upgrade, quantities, plan change, card, cancel, details, invoices).
- `read_models/` the rows the billing pages show, read from the mirror (no Stripe call).
- `reconcile` finds and fixes drift between Stripe and the mirror.

Never imports `auth`, the UI or pages; `auth` never imports this.
"""
