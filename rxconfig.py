"""Reflex configuration: everything comes from clerk_portal.core.settings (the environment)."""

import sys

import reflex as rx

from clerk_portal.billing.catalog import CatalogError, get_catalog
from clerk_portal.core.settings import SettingsError, get_settings

try:
    settings = get_settings()
    get_catalog()  # a bad catalog file stops the portal here, with the field named
except (SettingsError, CatalogError) as error:
    sys.exit(f"clerk_portal will not start: {error}")

config = rx.Config(
    app_name="clerk_portal",
    db_url=settings.sqlalchemy_url,
    redis_url=settings.redis_url,
    state_manager_mode="redis" if settings.redis_url else "memory",
    cors_allowed_origins=settings.cors_origins,
    frontend_port=settings.port,
    backend_port=settings.dev_backend_port or settings.port,
    deploy_url=settings.portal_url,
    api_url=(
        f"http://localhost:{settings.dev_backend_port}"
        if settings.dev_backend_port
        else settings.portal_url
    ),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
