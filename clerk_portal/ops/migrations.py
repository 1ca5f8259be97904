"""Run alembic from code (make run, the CLI and the tests share this)."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from clerk_portal.core.db import ensure_sqlite_folder
from clerk_portal.core.settings import PROJECT_ROOT, get_settings


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["configure_logger"] = False
    if url:
        config.attributes["url"] = url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    ensure_sqlite_folder(url or get_settings().sqlalchemy_url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
