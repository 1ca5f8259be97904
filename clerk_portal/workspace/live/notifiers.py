"""How a committed change reaches every backend worker: one channel per database.

- `RedisNotifier` (`REDIS_URL` set: several workers): PUBLISH after the commit; each worker holds
  one SUBSCRIBE connection.
- `PostgresNotifier` (PostgreSQL without Redis): `pg_notify` inside the writing transaction, so
  PostgreSQL delivers it on commit and drops it on rollback; each worker holds one LISTEN
  connection.
- `LocalNotifier` (the single-process SQLite default): delivered in process (asyncio) after the
  commit; a listening process also binds a Unix datagram socket, so that a change committed by
  another process on the machine (a CLI command, a test) reaches its tabs too.

The channel's name comes from a hash of the database URL: two databases (tests, two
deployments on one Redis) never wake each other's tabs. A message is `workspace_id:version`
(version empty when unknown). A subscription that drops reconnects and wakes every waiting tab
once (`Waiters.wake_all`), so that nothing published meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import redis
import redis.asyncio as aioredis
import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url
from sqlmodel import Session

from clerk_portal.workspace.live.waiters import Waiters

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.05, 0.2, 0.5, 1.0, 2.0)  # between reconnection attempts, then the last
KEEPALIVE_SECONDS = 15.0  # a silent subscription is checked this often (a half-open socket)


def channel_for(database_url: str) -> str:
    """The channel of one database (a valid PostgreSQL identifier, under 63 characters)."""
    digest = hashlib.sha256(make_url(database_url).render_as_string(False).encode()).hexdigest()
    return f"clerk_portal_live_{digest[:20]}"


def encode(workspace_id: int, version: int | None) -> str:
    return f"{workspace_id}:{'' if version is None else version}"


def decode(message: str | bytes) -> tuple[int, int | None] | None:
    text = message.decode() if isinstance(message, bytes) else message
    workspace, _, version = text.partition(":")
    try:
        return int(workspace), (int(version) if version else None)
    except ValueError:
        log.warning("live: ignored a malformed message %r", text[:80])
        return None


class Notifier:
    """Publishes one database's changes and holds this process's one subscription to them."""

    kind = "base"

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.channel = channel_for(database_url)
        self.waiters = Waiters()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # for tests: the subscription is up

    # Publishing: inside the transaction (before its commit) or after it; versions by workspace.
    def publish_in_transaction(self, session: Session, changes: dict[int, int | None]) -> None:
        """Called just before the commit, in the writing transaction."""

    def publish_committed(self, changes: dict[int, int | None]) -> None:
        """Called once the transaction committed (the change is visible)."""

    # The subscription: one task per process, started by the first wait or at start-up.
    def ensure_listening(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self.connected = asyncio.Event()
            self._task = loop.create_task(self._listen_forever(), name=f"live:{self.kind}")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen_forever(self) -> None:
        failures = 0
        while True:
            try:
                async for _ in self._listen():  # yields once subscribed, then delivers
                    failures = 0
                    self.connected.set()
                    self.waiters.wake_all()  # re-read: a change may have gone unheard
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a dropped subscription reconnects
                log.warning("live: %s subscription lost (%s); reconnecting", self.kind, error)
            self.connected.clear()
            await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            failures += 1

    def _listen(self) -> AsyncIterator[None]:  # an async generator: yields once subscribed
        raise NotImplementedError


class LocalNotifier(Notifier):
    kind = "local"

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self.folder = Path(tempfile.gettempdir()) / "clerk_portal_live" / self.channel[-20:]
        self._own: Path | None = None

    def publish_committed(self, changes: dict[int, int | None]) -> None:
        for workspace_id, version in changes.items():
            self.waiters.deliver(workspace_id, version)
        self._tell_other_processes(changes)

    def _tell_other_processes(self, changes: dict[int, int | None]) -> None:
        try:
            peers = [path for path in self.folder.iterdir() if path != self._own]
        except FileNotFoundError:
            return
        if not peers:
            return
        payload = "\n".join(encode(w, v) for w, v in changes.items()).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)
            for peer in peers:
                try:
                    sender.sendto(payload, str(peer))
                except (ConnectionRefusedError, FileNotFoundError):  # its process is gone
                    peer.unlink(missing_ok=True)
                except OSError as error:  # a full queue: that process re-reads at its timeout
                    log.warning("live: could not tell %s: %s", peer.name, error)

    async def _listen(self) -> AsyncIterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.setblocking(False)
        receiver.bind(str(path))
        self._own = path
        loop = asyncio.get_running_loop()
        loop.add_reader(receiver.fileno(), self._receive, receiver)
        try:
            yield
            await asyncio.Event().wait()  # until cancelled (close)
        finally:
            loop.remove_reader(receiver.fileno())
            receiver.close()
            path.unlink(missing_ok=True)
            self._own = None

    def _receive(self, receiver: socket.socket) -> None:
        while True:
            try:
                data = receiver.recv(65536)
            except BlockingIOError:
                return
            for line in data.decode(errors="replace").splitlines():
                if (message := decode(line)) is not None:
                    self.waiters.deliver(*message)


class RedisNotifier(Notifier):
    kind = "redis"

    def __init__(self, database_url: str, redis_url: str) -> None:
        super().__init__(database_url)
        self.redis_url = redis_url
        self.client_name = f"{self.channel}:{uuid.uuid4().hex[:8]}"  # the subscription's name
        self._publisher = redis.Redis.from_url(redis_url, socket_timeout=2)

    def publish_committed(self, changes: dict[int, int | None]) -> None:
        try:
            with self._publisher.pipeline(transaction=False) as pipe:
                for workspace_id, version in changes.items():
                    pipe.publish(self.channel, encode(workspace_id, version))
                pipe.execute()
        except RedisError as error:  # committed anyway; tabs catch up at the next change
            log.warning("live: could not publish to Redis: %s", error)

    async def _listen(self) -> AsyncIterator[None]:
        client = aioredis.Redis.from_url(
            self.redis_url,
            client_name=self.client_name,
            health_check_interval=KEEPALIVE_SECONDS,
            socket_connect_timeout=5,
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            yield
            while True:
                message = await pubsub.get_message(timeout=KEEPALIVE_SECONDS)
                if message is None:
                    await pubsub.ping()  # a dead socket raises here
                    continue
                decoded = decode(message["data"]) if message.get("type") == "message" else None
                if decoded is not None:
                    self.waiters.deliver(*decoded)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                await client.aclose()

    async def close(self) -> None:
        await super().close()
        self._publisher.close()


class PostgresNotifier(Notifier):
    kind = "postgresql"

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        url = make_url(database_url).set(drivername="postgresql")
        # TCP keepalives find a half-open connection without a statement on the database.
        url = url.update_query_dict(
            {"keepalives": "1", "keepalives_idle": "15", "keepalives_interval": "5"}
        )
        self.conninfo = url.render_as_string(hide_password=False)
        self.backend_pid: int | None = None  # the LISTEN connection's (tests end it)

    def publish_in_transaction(self, session: Session, changes: dict[int, int | None]) -> None:
        for workspace_id, version in changes.items():
            payload = encode(workspace_id, version)
            session.execute(sa.select(sa.func.pg_notify(self.channel, payload)))

    async def _listen(self) -> AsyncIterator[None]:
        connection = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, connect_timeout=5
        )
        try:
            await connection.execute(f'LISTEN "{self.channel}"')
            self.backend_pid = connection.info.backend_pid
            yield
            async for notice in connection.notifies():  # raises when the connection drops
                if (decoded := decode(notice.payload)) is not None:
                    self.waiters.deliver(*decoded)
        finally:
            self.backend_pid = None
            with contextlib.suppress(Exception):
                await connection.close()
