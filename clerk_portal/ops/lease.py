"""The job lease: at most one runner of the deployment holds it at a time, in the database.

- PostgreSQL (`AdvisoryLease`): a session-level advisory lock on a connection of its own (no
  pool, autocommit: never idle in a transaction). The server ends the session, and so frees the
  lock, when the holder's process dies (its socket closes), or when the holder stays silent
  longer than the lease (`idle_session_timeout` set on that session; TCP keepalives for a
  vanished host): the holder's heartbeat (`SELECT 1`) is what keeps it. The lock's key is the
  lease's name within the database and schema, so that schemas sharing a server do not meet.
  Needs a direct connection (PgBouncer's transaction mode would lose the session's lock).
- SQLite (`RowLease`): a `job_lease` row with the holder and an expiry, moved forward by the
  heartbeat; once expired, any runner takes it over in one statement (SQLite has one writer).

Either way the holder counts its lease as held only until its last successful heartbeat (timed
from before it was sent) plus the lease time: past that, another runner may have taken over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url

from clerk_portal.core.db import engine_for
from clerk_portal.models import JobLease, utcnow

log = logging.getLogger("clerk_portal.ops.lease")
LEASE_SECONDS = 30.0
_ADVISORY_SPACE = 0x4A0B  # the first key of the two-key advisory lock: "jobs of clerk_portal"
_TABLE: sa.Table = JobLease.__table__  # type: ignore[attr-defined]


class Lease(Protocol):
    name: str
    holder: str
    seconds: float

    async def acquire(self) -> bool:
        """Take the lease if it is free or expired (or already ours); whether it is ours now."""
        ...

    async def renew(self) -> bool:
        """The heartbeat: keep the lease; False when it is no longer ours."""
        ...

    def held(self) -> bool:
        """Ours, as far as the last heartbeat says (no I/O)."""
        ...

    async def release(self) -> None:
        """Give it up now (shutdown), so that another runner need not wait for the expiry."""
        ...


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_for(url: str, *, name: str = "jobs", seconds: float = LEASE_SECONDS) -> Lease:
    """The lease for the database at `url`: an advisory lock on PostgreSQL, a row elsewhere."""
    if make_url(url).get_backend_name() == "postgresql":
        return AdvisoryLease(url, name=name, seconds=seconds)
    return RowLease(url, name=name, seconds=seconds)


class _Timed:
    """The holder's side of the expiry: held until the last heartbeat's start plus the lease.
    One call at a time (`_serial`): the heartbeat and the check before a job share a connection."""

    seconds: float
    _held_until: float = 0.0
    _serial_lock: asyncio.Lock | None = None

    @property
    def _serial(self) -> asyncio.Lock:
        if self._serial_lock is None:
            self._serial_lock = asyncio.Lock()
        return self._serial_lock

    def held(self) -> bool:
        return time.monotonic() < self._held_until

    def _kept(self, since: float) -> None:
        self._held_until = since + self.seconds

    def _lost(self) -> None:
        self._held_until = 0.0


class AdvisoryLease(_Timed):
    """PostgreSQL: `pg_try_advisory_lock` on a dedicated connection kept alive by the heartbeat."""

    def __init__(self, url: str, *, name: str = "jobs", seconds: float = LEASE_SECONDS) -> None:
        self.name = name
        self.seconds = seconds
        self.holder = new_holder_id()
        timeout = max(1, int(seconds))
        self._engine: Engine = sa.create_engine(
            url,
            poolclass=sa.NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "connect_timeout": timeout,
                "keepalives": 1,
                "keepalives_idle": timeout,
                "keepalives_interval": max(1, timeout // 3),
                "keepalives_count": 3,
                "tcp_user_timeout": timeout * 1000,  # unacknowledged writes: the server is gone
                "application_name": f"clerk_portal jobs {self.holder}"[:63],
            },
        )
        self._connection: Connection | None = None
        self._ours = False

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect()
            milliseconds = str(int(self.seconds * 1000))
            # Silent longer than the lease (a frozen or partitioned holder): the server ends the
            # session, and the lock goes with it. The heartbeat runs three times per lease.
            connection.execute(
                sa.text("SELECT set_config('idle_session_timeout', :ms, false)"),
                {"ms": milliseconds},
            )
            keepalive = str(max(1, int(self.seconds) // 3))
            for setting in ("tcp_keepalives_idle", "tcp_keepalives_interval"):
                connection.execute(
                    sa.text("SELECT set_config(:name, :value, false)"),
                    {"name": setting, "value": keepalive},
                )
            self._connection = connection
        return self._connection

    def _drop(self) -> None:
        connection, self._connection, self._ours = self._connection, None, False
        self._lost()
        if connection is not None:
            try:
                connection.close()
            except sa.exc.DBAPIError:
                connection.invalidate()

    def _try_lock(self) -> bool:
        started = time.monotonic()
        connection: Connection | None = None
        try:
            connection = self._connect()
            if self._ours:
                connection.execute(sa.text("SELECT 1"))
                ours = True
            else:
                ours = bool(
                    connection.execute(
                        sa.text(
                            "SELECT pg_try_advisory_lock(:space, "
                            "hashtext(current_database() || '.' || current_schema() || '.' "
                            "|| :name))"
                        ),
                        {"space": _ADVISORY_SPACE, "name": self.name},
                    ).scalar()
                )
        except sa.exc.DBAPIError as error:
            log.warning("job lease %s: %s", self.name, error.__class__.__name__)
            if connection is self._connection:
                self._drop()
            elif connection is not None:  # abandoned by a timed-out heartbeat
                connection.invalidate()
            return False
        if connection is not self._connection:  # abandoned meanwhile: not ours to report
            connection.invalidate()
            return False
        self._ours = ours
        if ours:
            self._kept(started)
        return ours

    async def acquire(self) -> bool:
        async with self._serial:
            return await asyncio.to_thread(self._try_lock)

    async def renew(self) -> bool:
        async with self._serial:
            if not self._ours:
                return False
            try:
                # A heartbeat stuck on a dead socket is a lost lease (the thread gives up later).
                return await asyncio.wait_for(asyncio.to_thread(self._try_lock), self.seconds / 2)
            except TimeoutError:
                self._connection, self._ours = None, False
                self._lost()
                return False

    async def release(self) -> None:
        async with self._serial:
            await asyncio.to_thread(self._drop)  # closing the session frees its locks


class RowLease(_Timed):
    """A `job_lease` row: holder and expiry, renewed by the heartbeat, taken over when expired."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "jobs",
        seconds: float = LEASE_SECONDS,
        holder: str | None = None,
        clock: Any = utcnow,
    ) -> None:
        self.name = name
        self.seconds = seconds
        self.holder = holder or new_holder_id()
        self._url = url
        self._clock = clock

    def _take(self) -> bool:
        started = time.monotonic()
        now = self._clock()
        expires = now + timedelta(seconds=self.seconds)
        engine = engine_for(self._url)
        upsert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
        insert = upsert(_TABLE)
        lease = _TABLE.c
        statement = insert.values(
            name=self.name, holder=self.holder, acquired_at=now, expires_at=expires
        ).on_conflict_do_update(
            index_elements=[lease.name],
            set_={
                "holder": self.holder,
                "expires_at": expires,
                "acquired_at": sa.case((lease.holder == self.holder, lease.acquired_at), else_=now),
            },
            where=sa.or_(lease.holder == self.holder, lease.expires_at < now),
        )
        try:
            with engine.begin() as connection:
                connection.execute(statement)
                holder = connection.execute(
                    sa.select(lease.holder).where(lease.name == self.name)
                ).scalar()
        except sa.exc.DBAPIError as error:
            log.warning("job lease %s: %s", self.name, error.__class__.__name__)
            self._lost()
            return False
        if holder != self.holder:
            self._lost()
            return False
        self._kept(started)
        return True

    async def acquire(self) -> bool:
        async with self._serial:
            return await asyncio.to_thread(self._take)

    async def renew(self) -> bool:
        # Ours or expired-and-untaken: both keep it; taken over by another: lost.
        async with self._serial:
            return await asyncio.to_thread(self._take)

    async def release(self) -> None:
        def give_up() -> None:
            lease = _TABLE.c
            with engine_for(self._url).begin() as connection:
                connection.execute(
                    sa.delete(_TABLE).where(lease.name == self.name, lease.holder == self.holder)
                )

        self._lost()
        try:
            async with self._serial:
                await asyncio.to_thread(give_up)
        except sa.exc.DBAPIError as error:
            log.warning("job lease %s not released: %s", self.name, error.__class__.__name__)
