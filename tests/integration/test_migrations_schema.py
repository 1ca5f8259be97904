"""The migrations build exactly the models' schema on SQLite and PostgreSQL, and undo it cleanly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import clerk_portal.models  # noqa: F401 - registers every table
from clerk_portal.ops import migrations


def schema_drift(url: str) -> list:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_upgrade_to_head_matches_the_models_then_downgrade_to_base(empty_database_url):
    url = empty_database_url
    head = ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()

    migrations.upgrade(url)
    assert current_revision(url) == head
    assert table_names(url) == set(SQLModel.metadata.tables) | {"alembic_version"}
    assert schema_drift(url) == []

    migrations.downgrade(url)
    assert table_names(url) == {"alembic_version"}
    assert current_revision(url) is None

    migrations.upgrade(url)
    assert schema_drift(url) == []


def test_the_partial_unique_indexes_exist(empty_database_url):
    migrations.upgrade(empty_database_url)
    engine = sa.create_engine(empty_database_url, poolclass=sa.NullPool)
    try:
        inspector = sa.inspect(engine)
        indexes = {
            index["name"]: index
            for table in ("phone_number", "membership")
            for index in inspector.get_indexes(table)
        }
    finally:
        engine.dispose()
    for name, where in (
        ("uq_phone_number_active_e164", "status = 'active'"),
        ("uq_membership_workspace_email_live", "status <> 'removed'"),
    ):
        assert indexes[name]["unique"]
        options = indexes[name].get("dialect_options", {})
        predicate = options.get("postgresql_where") or options.get("sqlite_where")
        normalized = str(predicate).replace("::text", "").replace("(", "").replace(")", "")
        assert normalized.replace("!=", "<>") == where


def test_every_revision_has_a_downgrade_and_one_head():
    scripts = ScriptDirectory.from_config(migrations.alembic_config())
    assert len(scripts.get_heads()) == 1
    for revision in scripts.walk_revisions():
        assert callable(getattr(revision.module, "downgrade", None)), revision.revision
