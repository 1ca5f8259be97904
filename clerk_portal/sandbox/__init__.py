"""A local Stripe-compatible API server for demos and tests (``python -m clerk_portal.sandbox``).

It speaks Stripe's HTTP API under ``/v1`` (form encoding, ``expand[]``, pagination, idempotency,
Stripe's error shapes) for the resources the portal uses, sends signed webhooks, serves invoice
pages and PDFs, and a Stripe.js stand-in at ``/v3``. It imports nothing from the rest of the portal.

Only the API keys it was started with are accepted (``SANDBOX_SECRET_KEYS``,
``SANDBOX_PUBLISHABLE_KEYS``; a publishable key only on the endpoints Stripe.js calls). Web pages
get CORS only from the ``--allow-origin`` origins and only on those endpoints; any other preflight
or write from a page is refused (``browser_guard.py``).

Sandbox-only controls (no API key: for local processes, not web pages):

- ``GET  /_sandbox/health``
- ``POST /_sandbox/reset``: forget every object, idempotency record, fault and logged request;
  with ``keep=catalog`` products, prices, coupons and promotion codes stay (with their ids, their
  redemption counts reset), so nothing needs syncing again.
- ``POST /_sandbox/faults`` with ``method`` (GET, POST, DELETE or ``*``), ``path`` (an exact path,
  or a glob where ``*`` matches any characters, ``/`` included, e.g. ``/v1/subscriptions/*``),
  ``count`` (default 1) and either ``status`` (500, 429, 502, 503) or ``hang_seconds``: the next
  ``count`` matching /v1 requests fail with that status (nothing is executed or stored for
  idempotency) or wait that long before being executed normally. ``GET`` lists, ``DELETE`` clears.
- ``GET /_sandbox/requests[?path=prefix]``: the log of /v1 requests (method, path, query, time,
  idempotency key, status, replayed); ``DELETE`` clears it.
- ``GET|POST|DELETE /_sandbox/webhooks``: delivery attempts; POST sets ``url``, ``secret``,
  ``max_attempts`` (default 5), ``initial_backoff`` seconds (default 0.5, doubling), ``timeout``.
- ``GET|POST /_sandbox/settings``: ``retry_days`` (default 3,5,7: failed-invoice retries, in days
  after the first failure), ``retries_exhausted`` (``cancel``, the default, or ``unpaid``) and
  ``upcoming_renewal_days`` (default 3: ``invoice.upcoming`` that many days before a renewal;
  0 sends none).
- ``POST /_sandbox/authenticate/{seti_or_pi_id}`` (also
  ``/_sandbox/setup_intents/{id}/authenticate`` and ``/_sandbox/payment_intents/{id}/authenticate``)
  with ``outcome=complete|fail``: the result of a 3-D Secure challenge;
  ``GET /_sandbox/3ds/{id}`` is a small test page with both buttons.
"""
