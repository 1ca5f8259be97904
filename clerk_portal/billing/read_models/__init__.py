"""The rows the billing pages show, read from the mirror (never from Stripe): plain dataclasses a
page state copies into its vars, so no page builds a query."""
