"""The portal's tables: its own truth (workspaces, people, numbers) and its mirror of Stripe's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Workspace(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
