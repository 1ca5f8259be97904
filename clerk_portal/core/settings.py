"""One typed settings object, read from the environment (and `.env` in development).

Production refuses to start on settings that only make sense in a demo: sandbox or test Stripe keys,
a missing webhook secret, no identity provider, or a wildcard websocket origin.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The demo's keys: the sandbox `make run` starts accepts only these (or the STRIPE_* keys set);
# never valid in production.
SANDBOX_SECRET_KEY = "sk_test_clerk_portal_sandbox"  # noqa: S105 - public demo value
SANDBOX_PUBLISHABLE_KEY = "pk_test_clerk_portal_sandbox"
SANDBOX_WEBHOOK_SECRET = "whsec_clerk_portal_sandbox"  # noqa: S105 - public demo value


class SettingsError(ValueError):
    """A setting that the portal cannot start with; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    portal_mode: Literal["demo", "production"] = "demo"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'clerk_portal.db'}"
    redis_url: str | None = None

    # The address the portal (and in demo mode the sandbox) listens on; unset: loopback in demo
    # mode, every interface in production (which sets it).
    host: str | None = None
    port: int = Field(default=3000, ge=1, le=65535)
    # Set by `make dev` only: Reflex's development mode serves the backend on its own port.
    dev_backend_port: int | None = Field(default=None, ge=1, le=65535)
    sandbox_port: int = Field(default=12111, ge=1, le=65535)
    # Where `make run` keeps the sandbox's state, so the demo survives restarts.
    sandbox_data: str = str(PROJECT_ROOT / "var" / "sandbox.json")
    # Where people open the portal; the websocket and API accept only these origins.
    public_url: str | None = None
    allowed_origins: str | None = None

    stripe_api_base: str | None = None
    stripe_secret_key: str | None = None
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_js_url: str | None = None
    # How long a person's click waits on one Stripe request (connect, then read) before its one
    # retry; jobs wait 30 s (billing/gateway/default.py).
    stripe_interactive_timeout_seconds: float = Field(default=8.0, gt=0, le=30)

    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    # Comma-separated email domains whose people are Clerk Chat staff (sales reps), when the
    # identity provider says the address is verified (`email_verified: true`).
    sales_email_domains: str | None = None

    # Backend worker processes. Unset: one without Redis (the state lives in the process), one
    # per core with Redis (Reflex's own default is 2 x cores + 1: 5 on a 2-core machine).
    workers: int | None = Field(default=None, ge=1, le=64)

    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must be a sqlite:/// or postgresql:// SQLAlchemy URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    # --- derived values (demo mode fills in the sandbox's) -------------------------------------

    @property
    def is_demo(self) -> bool:
        return self.portal_mode == "demo"

    @property
    def listen_host(self) -> str:
        if self.host:
            return self.host
        return "127.0.0.1" if self.is_demo else "0.0.0.0"  # noqa: S104 - production's default

    @property
    def local_host(self) -> str:
        """Where this machine's processes reach what listens on `listen_host` (URL form)."""
        host = self.listen_host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard is reached on loopback
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    @property
    def staff_domains(self) -> frozenset[str]:
        raw = self.sales_email_domains or ""
        return frozenset(d.strip().lower().lstrip("@") for d in raw.split(",") if d.strip())

    @property
    def portal_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def cors_origins(self) -> list[str]:
        if self.allowed_origins:
            return [origin.strip().rstrip("/") for origin in self.allowed_origins.split(",")]
        origins = [self.portal_url]
        if self.is_demo:
            origins += [f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"]
        return list(dict.fromkeys(origins))

    @property
    def backend_workers(self) -> int:
        if self.workers:
            return self.workers
        return max(os.cpu_count() or 1, 1) if self.redis_url else 1

    @property
    def sqlalchemy_url(self) -> str:
        """The URL with the driver we ship (psycopg 3) made explicit."""
        if self.database_url.startswith("postgresql://"):
            return "postgresql+psycopg://" + self.database_url.removeprefix("postgresql://")
        return self.database_url

    @property
    def stripe_api_base_url(self) -> str | None:
        if self.stripe_api_base:
            return self.stripe_api_base.rstrip("/")
        return f"http://{self.local_host}:{self.sandbox_port}" if self.is_demo else None

    @property
    def stripe_secret(self) -> str:
        return self.stripe_secret_key or SANDBOX_SECRET_KEY

    @property
    def stripe_publishable(self) -> str:
        return self.stripe_publishable_key or SANDBOX_PUBLISHABLE_KEY

    @property
    def webhook_secret(self) -> str:
        return self.stripe_webhook_secret or SANDBOX_WEBHOOK_SECRET

    @property
    def stripe_js(self) -> str:
        if self.stripe_js_url:
            return self.stripe_js_url
        if self.is_demo:
            return f"{self.stripe_api_base_url}/v3"
        return "https://js.stripe.com/v3"

    def check(self) -> Settings:
        """Refuse production settings that are missing or only fit a demo."""
        if self.backend_workers > 1 and not self.redis_url:
            raise SettingsError(
                "WORKERS above 1 needs REDIS_URL: each tab's state and the live updates are "
                "shared between the workers through Redis"
            )
        if self.is_demo:
            return self
        problems = {
            "STRIPE_SECRET_KEY": _live_secret(self.stripe_secret_key, "sk_live_"),
            "STRIPE_PUBLISHABLE_KEY": _live_secret(self.stripe_publishable_key, "pk_live_"),
            "STRIPE_WEBHOOK_SECRET": _webhook_secret(self.stripe_webhook_secret),
            "STRIPE_API_BASE": (
                "must be unset in production (the sandbox is for demos and tests)"
                if self.stripe_api_base and "api.stripe.com" not in self.stripe_api_base
                else None
            ),
            "OIDC_ISSUER": _required_https(self.oidc_issuer),
            "OIDC_CLIENT_ID": None if self.oidc_client_id else "is required in production",
            "OIDC_CLIENT_SECRET": None if self.oidc_client_secret else "is required in production",
            "PUBLIC_URL": _required_https(self.public_url),
            "ALLOWED_ORIGINS": (
                "must list origins, not '*', in production"
                if self.allowed_origins and "*" in self.allowed_origins
                else None
            ),
        }
        for name, problem in problems.items():
            if problem:
                raise SettingsError(f"{name} {problem}")
        return self


def _live_secret(value: str | None, prefix: str) -> str | None:
    if not value:
        return "is required in production"
    if not value.startswith(prefix):
        return f"must be a live key starting with {prefix!r}, not a test or sandbox key"
    return None


def _webhook_secret(value: str | None) -> str | None:
    if not value:
        return "is required in production"
    if value == SANDBOX_WEBHOOK_SECRET or not value.startswith("whsec_"):
        return "must be the endpoint's signing secret (whsec_...), not the sandbox's"
    return None


def _required_https(value: str | None) -> str | None:
    if not value:
        return "is required in production"
    if not value.startswith("https://"):
        return "must be an https:// URL in production"
    return None


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings; a bad value raises SettingsError naming the variable."""
    try:
        # Overrides are field names and values of any type: pydantic checks them right here.
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"{name} {first['msg'].lower()}") from None
    return settings.check()


@functools.cache
def get_settings() -> Settings:
    return load_settings()
