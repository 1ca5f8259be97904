"""Settings for the whole suite, also when `make test` spreads it over pytest-xdist workers.

Each worker is its own process with its own session fixtures (sandbox, webhook receiver, OIDC
provider) on free ports, SQLite files under its own tmp_path and a schema of its own per test on
PostgreSQL. Redis is the one thing shared by name: a worker gets its own database number, the one
after `TEST_REDIS_URL`'s for gw0, the next for gw1, and so on (the browser tests, which run outside
xdist, keep `TEST_REDIS_URL`'s own), so that no two processes see each other's keys.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = 16  # Redis's default `databases`


def worker_redis_url(url: str, worker: str) -> str:
    """`redis://host:port/N` for worker `gwK`: database N + 1 + K (wrapping at 16)."""
    parts = urlsplit(url)
    number = parts.path.strip("/") or "0"
    database = (int(number) + 1 + int(worker.removeprefix("gw"))) % REDIS_DATABASES
    return urlunsplit(parts._replace(path=f"/{database}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("TEST_REDIS_URL"):
    # Before any test module reads it (they read it at import).
    os.environ["TEST_REDIS_URL"] = worker_redis_url(os.environ["TEST_REDIS_URL"], _worker)
