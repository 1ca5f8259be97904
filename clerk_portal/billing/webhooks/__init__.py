"""Stripe webhooks: verify, store once, answer fast, apply to the mirror in one transaction.

- `route.py`: `POST /stripe/webhook`: the 1 MiB body limit (413), the signature check (400; the
  check itself is the Stripe gateway's `verify_webhook`), storing the event, 200 at once; the
  event types the endpoint is subscribed to (`ENABLED_EVENTS`).
- `checks.py`: what a signed event must look like to be applied (else it is stored dead), and
  what is kept of it (client secrets redacted). No I/O.
- `inbox.py`: the inbox table: store once (INSERT … ON CONFLICT DO NOTHING), claim under a lease
  (PostgreSQL: FOR UPDATE SKIP LOCKED), mark processed, or failed with a backoff (2 s, 4 s, … 1 h)
  and dead after MAX_ATTEMPTS (16): kept, never dropped.
- `handlers.py`: what each event type does to the mirror, a registry by event type
  (`@handles("invoice.paid", fetch=…)`); a type without a handler is marked processed, no effect.
- `worker.py`: applying stored events off the request: the route wakes this process's pump
  (`dispatch`), which claims due rows in batches and applies them workspace by workspace, one
  Stripe read per object for all of a burst's events of it (`drain`, `stop`); the same work for
  the safety net (`process_pending`, run by the job runner in ops/jobs.py).
- `admin.py`: `python -m clerk_portal webhooks list | dead | replay`.
"""

from clerk_portal.billing.webhooks.inbox import MAX_ATTEMPTS
from clerk_portal.billing.webhooks.route import webhook_routes
from clerk_portal.billing.webhooks.worker import (
    dispatch,
    drain,
    process_event,
    process_pending,
    stop,
)

__all__ = [
    "MAX_ATTEMPTS",
    "dispatch",
    "drain",
    "process_event",
    "process_pending",
    "stop",
    "webhook_routes",
]
