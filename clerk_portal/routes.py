"""Page paths, in one place: pages, links and tests use these constants."""

HOME = "/"
BILLING = "/billing"
TEAM = "/team"
NUMBERS = "/numbers"
INVOICES = "/invoices"
PRICING = "/pricing"

NAVIGATION = (
    ("Billing", BILLING),
    ("Team", TEAM),
    ("Numbers", NUMBERS),
    ("Invoices", INVOICES),
)
