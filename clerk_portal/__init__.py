"""clerk_portal: the billing portal of Clerk Chat.

One folder per capability; dependencies point down this list (import-linter contracts in
pyproject.toml, checked by `make test`):

- `clerk_portal.py` the Reflex app (pages, routes, middleware, the job runner); `ops/` the command
  line, the runner behind `make run`, migrations, the periodic jobs under a database lease.
- `pages/` one module per page with its state; `components/` pure UI functions.
- `ui/` the session state, the guard, the live mixin, the mixins that do I/O; `web/` the HTTP app
  beside Reflex (routes, security headers, client error logs).
- `demo/` the demo seed and clock (demo mode only).
- `workspace/changes.py` team and numbers changes with their billing consequences.
- `billing/` Stripe-owned money (catalog, pricing, gateway, mirror, webhooks, services, read
  models) and `auth/` sign-in and sessions: independent of each other.
- `workspace/` the portal's own truth (workspaces, people, members, numbers, the trial, the live
  version), `models/` the tables, `core/` settings, database sessions, errors, input rules, paths.

`sandbox/` is a separate program (the Stripe-compatible local server) and imports none of this.
"""
