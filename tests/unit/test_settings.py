import pytest

from clerk_portal.core.settings import (
    SANDBOX_SECRET_KEY,
    SANDBOX_WEBHOOK_SECRET,
    SettingsError,
    load_settings,
)

PRODUCTION = {
    "portal_mode": "production",
    "database_url": "postgresql://portal@db.internal/portal",
    "public_url": "https://billing.clerk.chat",
    "stripe_secret_key": "sk_live_abc",
    "stripe_publishable_key": "pk_live_abc",
    "stripe_webhook_secret": "whsec_live_abc",
    "oidc_issuer": "https://login.clerk.chat",
    "oidc_client_id": "portal",
    "oidc_client_secret": "secret",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in ("PORTAL_MODE", "DATABASE_URL", "PORT", "REDIS_URL", "ALLOWED_ORIGINS", "WORKERS"):
        monkeypatch.delenv(name, raising=False)
    for name in [*PRODUCTION, "stripe_api_base", "stripe_js_url"]:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_demo_defaults_point_at_the_sandbox():
    settings = load_settings()

    assert settings.is_demo
    assert settings.port == 3000
    assert settings.database_url.endswith("var/clerk_portal.db")
    assert settings.stripe_api_base_url == "http://127.0.0.1:12111"
    assert settings.stripe_js == "http://127.0.0.1:12111/v3"
    assert settings.stripe_secret == SANDBOX_SECRET_KEY
    assert "http://localhost:3000" in settings.cors_origins
    assert "*" not in settings.cors_origins


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("PORT", "3100")
    monkeypatch.setenv("SANDBOX_PORT", "12999")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")

    settings = load_settings()

    assert settings.portal_url == "http://localhost:3100"
    assert settings.stripe_api_base_url == "http://127.0.0.1:12999"
    assert settings.sqlalchemy_url == "postgresql+psycopg://postgres@127.0.0.1/test"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_complete_production_settings_pass():
    settings = load_settings(**PRODUCTION)

    assert not settings.is_demo
    assert settings.stripe_api_base_url is None
    assert settings.stripe_js == "https://js.stripe.com/v3"
    assert settings.cors_origins == ["https://billing.clerk.chat"]


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"stripe_secret_key": None}, "STRIPE_SECRET_KEY"),
        ({"stripe_secret_key": SANDBOX_SECRET_KEY}, "STRIPE_SECRET_KEY"),
        ({"stripe_secret_key": "sk_test_123"}, "STRIPE_SECRET_KEY"),
        ({"stripe_publishable_key": "pk_test_123"}, "STRIPE_PUBLISHABLE_KEY"),
        ({"stripe_webhook_secret": None}, "STRIPE_WEBHOOK_SECRET"),
        ({"stripe_webhook_secret": SANDBOX_WEBHOOK_SECRET}, "STRIPE_WEBHOOK_SECRET"),
        ({"stripe_api_base": "http://127.0.0.1:12111"}, "STRIPE_API_BASE"),
        ({"oidc_issuer": None}, "OIDC_ISSUER"),
        ({"oidc_issuer": "http://login.example"}, "OIDC_ISSUER"),
        ({"oidc_client_secret": None}, "OIDC_CLIENT_SECRET"),
        ({"public_url": None}, "PUBLIC_URL"),
        ({"allowed_origins": "*"}, "ALLOWED_ORIGINS"),
    ],
)
def test_production_refuses_missing_or_sandbox_values(change, variable):
    with pytest.raises(SettingsError) as raised:
        load_settings(**{**PRODUCTION, **change})

    message = str(raised.value)
    assert message.startswith(variable)
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value", "variable"),
    [
        ("PORT", "not-a-port", "PORT"),
        ("PORT", "70000", "PORT"),
        ("PORTAL_MODE", "staging", "PORTAL_MODE"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL"),
        ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, name, value, variable):
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError, match=rf"^{variable} "):
        load_settings()


def test_explicit_origins_are_used_as_given(monkeypatch):
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example/")

    assert load_settings().cors_origins == ["https://a.example", "https://b.example"]


def test_one_backend_worker_without_redis_and_one_per_core_with_it(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)

    assert load_settings().backend_workers == 1
    assert load_settings(redis_url="redis://127.0.0.1:6379/0").backend_workers == 2
    assert load_settings(redis_url="redis://127.0.0.1:6379/0", workers=3).backend_workers == 3


def test_several_workers_without_redis_are_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv("WORKERS", "2")

    with pytest.raises(SettingsError, match="WORKERS above 1 needs REDIS_URL"):
        load_settings()


def test_the_worker_count_reaches_reflex_production_server():
    from clerk_portal.ops.runner import child_environment

    assert child_environment(dev=False, workers=3)["GRANIAN_WORKERS"] == "3"
    assert "GRANIAN_WORKERS" not in child_environment(dev=True, workers=3)
