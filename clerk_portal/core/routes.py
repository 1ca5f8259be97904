"""Page paths, in one place: pages, links and tests use these constants."""

HOME = "/"
BILLING = "/billing"
UPGRADE = "/billing/upgrade"
TEAM = "/team"
NUMBERS = "/numbers"
INVOICES = "/invoices"
HISTORY = "/billing/history"
PRICING = "/pricing"
DEMO = "/demo"  # demo mode only
SALES = "/sales"  # Clerk Chat staff (sales reps) only
QUOTE = "/quote/[quote_token]"  # a quote's share link: public, read-only

NAVIGATION = (
    ("Billing", BILLING),
    ("Team", TEAM),
    ("Numbers", NUMBERS),
    ("Invoices", INVOICES),
    ("History", HISTORY),
)

LOGIN = "/login"

# Backend HTTP routes (Starlette, same port as the pages in production).
HEALTHZ = "/healthz"
AUTH_LOGIN = "/auth/login"
AUTH_CALLBACK = "/auth/callback"
AUTH_LOGOUT = "/auth/logout"
AUTH_DEMO = "/auth/demo"
STRIPE_WEBHOOK = "/stripe/webhook"
INVOICE_PDF = "/invoices/{invoice_id}/pdf"
QUOTE_PDF = "/quotes/{token}/pdf"


def quote_path(token: str) -> str:
    return QUOTE.replace("[quote_token]", token)


def quote_pdf(token: str) -> str:
    """The portal's own link to a quote's PDF (see web/quote_pdf.py): the token is the key."""
    return backend_url(QUOTE_PDF.replace("{token}", token))


def invoice_pdf(stripe_invoice_id: str) -> str:
    """The portal's own link to an invoice's PDF (see web/invoice_pdf.py)."""
    return backend_url(INVOICE_PDF.replace("{invoice_id}", stripe_invoice_id))


def landing_for(role: str) -> str:
    """Where a person lands after sign-in: admins manage the team; owners and members see
    billing (members learn there who the owners are)."""
    return TEAM if role == "admin" else BILLING


def safe_return_path(candidate: str | None, default: str = HOME) -> str:
    """Only paths on this site: never `//evil.example` or `https://…` (open redirects)."""
    if candidate and candidate.startswith("/") and not candidate.startswith(("//", "/\\")):
        return candidate
    return default


def backend_url(path: str) -> str:
    """Backend routes share the page's origin, except in `make dev` (backend on its own port)."""
    from clerk_portal.core.settings import get_settings

    port = get_settings().dev_backend_port
    return f"http://localhost:{port}{path}" if port else path
