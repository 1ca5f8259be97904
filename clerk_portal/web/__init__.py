"""The HTTP side beside Reflex's websocket: the Starlette app of the backend's own routes (`api`:
/healthz, /auth/*, /stripe/webhook, /invoices/{id}/pdf), the security headers around every
response and the capped, rate-limited log of client-side errors."""
