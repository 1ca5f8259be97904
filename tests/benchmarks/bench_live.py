"""Live updates at N open tabs: idle cost of the portal, and how fast one change reaches them all.

Starts the real portal (production build, demo mode, like the e2e tests) on each stack:

- `default`: SQLite, one backend worker, the in-process notifier;
- `pg`: PostgreSQL, one worker, LISTEN/NOTIFY (needs TEST_POSTGRES_URL);
- `pg-redis`: PostgreSQL + Redis + 2 backend workers (GRANIAN_WORKERS=2), Redis pub/sub (needs
  TEST_POSTGRES_URL and TEST_REDIS_URL).

For N = 10, 50, 200 it opens N tabs of one workspace's owner on /numbers, as raw Socket.IO
clients replaying what the page sends (`hydrate_and_load` with the cookie: the shell's and the
page's on_load chain, which starts the tab's watcher). Then, with the tabs idle, it measures for
IDLE seconds the CPU of the portal's processes (the runner, Reflex, its workers; not the Stripe
sandbox) and the SQL statements they run (a SQLAlchemy `before_cursor_execute` counter loaded
into each portal process through `sitecustomize`, for this script only). Then ROUNDS times it
adds a phone number to the workspace from this process (a commit that raises the live version,
published like any other writer's) and times, per tab, from just before the commit to the first
frame with a state delta: p50 / p95 / max over all tabs and rounds.

    TEST_POSTGRES_URL=... TEST_REDIS_URL=... .venv/bin/python tests/benchmarks/bench_live.py \
        [--stacks default,pg-redis] [--tabs 10,50,200] [--rounds 5] [--idle 10] [--port 4310]

`--stacks api:local,api:postgresql,api:redis` times the live API alone instead: N waiters
(`wait_for_change`) in this process, one commit, until every waiter has returned (the push
without Reflex and without the page reload that follows it in a tab).

The tab clients live in this process (python-socketio, threads): the arrival times include its
own scheduling, so they are an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

from clerk_portal.core.db import engine_for
from clerk_portal.core.settings import get_settings
from clerk_portal.workspace import live, repository
from tests.support.portal import start_portal
from tests.support.tabs import Tab
from tests.support.waiting import eventually_async
from tests.support.workspaces import cookie, new_session_token, new_workspace

# Loaded by every Python process of the portal (PYTHONPATH): counts SQL statements per process.
SITECUSTOMIZE = """
import os, threading, time
_dir = os.environ.get("BENCH_SQL_COUNT_DIR")
if _dir:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    _count = [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def _counted(*_args):
        _count[0] += 1

    def _write_forever():
        path = os.path.join(_dir, f"{os.getpid()}.count")
        while True:
            with open(path + ".tmp", "w") as f:
                f.write(str(_count[0]))
            os.replace(path + ".tmp", path)
            time.sleep(0.2)

    def _start():
        threading.Thread(target=_write_forever, daemon=True).start()

    _start()
    os.register_at_fork(after_in_child=_start)
"""


class TimedTab(Tab):
    """A tab that notes when each frame arrived."""

    def __init__(self, *args, **kwargs):
        self.arrivals: list[tuple[float, dict]] = []
        super().__init__(*args, **kwargs)

    def _received(self, update):
        self.arrivals.append((time.monotonic(), update))
        super()._received(update)

    def first_delta_after(self, started: float) -> float | None:
        for at, frame in list(self.arrivals):
            if at >= started and frame.get("delta"):
                return at
        return None


def portal_processes(root: psutil.Process) -> list[psutil.Process]:
    found = [root]
    for child in root.children(recursive=True):
        try:
            if "clerk_portal.sandbox" not in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
        except psutil.Error:
            continue
    return seconds


def statements(folder: Path) -> int:
    total = 0
    for path in folder.glob("*.count"):
        try:
            total += int(path.read_text() or 0)
        except (OSError, ValueError):
            continue
    return total


def measure_idle(portal, counts: Path, seconds: float) -> tuple[float, float]:
    """(CPU % of one core, SQL statements per second) of the portal over `seconds`."""
    processes = portal_processes(psutil.Process(portal.process.pid))
    cpu_before, sql_before = cpu_seconds(processes), statements(counts)
    time.sleep(seconds)  # the idle window itself
    cpu_after, sql_after = cpu_seconds(processes), statements(counts)
    used = sum(cpu_after[pid] - cpu_before[pid] for pid in cpu_after if pid in cpu_before)
    return 100 * used / seconds, (sql_after - sql_before) / seconds


def open_tabs(portal, count: int) -> tuple[int, list[TimedTab]]:
    workspace = new_workspace(portal, name="Live Bench", numbers=1)
    owner_cookie = cookie(new_session_token(portal, workspace.owner_user_id, workspace.id))

    def one(_index: int) -> TimedTab:
        tab = TimedTab(portal.url, cookie=owner_cookie)
        tab.open("/numbers")
        return tab

    with ThreadPoolExecutor(8) as pool:
        tabs = list(pool.map(one, range(count)))
    return workspace.id, tabs


def add_number(database_url: str, workspace_id: int) -> None:
    with Session(engine_for(database_url)) as session:
        e164 = f"+1628{uuid.uuid4().int % 10**7:07d}"
        repository.add_number(session, workspace_id=workspace_id, e164=e164)
        live.touch(session, workspace_id=workspace_id)
        session.commit()


def change_latencies(portal, workspace_id: int, tabs: list[TimedTab], rounds: int) -> list[float]:
    latencies: list[float] = []
    for _ in range(rounds):
        started = time.monotonic()
        add_number(portal.database_url, workspace_id)
        deadline = started + 30
        arrived: list[float | None] = [None] * len(tabs)
        while time.monotonic() < deadline and None in arrived:
            arrived = [tab.first_delta_after(started) for tab in tabs]
            time.sleep(0.01)  # polling this process's own lists
        latencies += [1000 * ((at or deadline) - started) for at in arrived]
        missing = arrived.count(None)
        if missing:
            print(f"    {missing} tabs got no frame within 30 s", flush=True)
        time.sleep(1.0)  # let the reloads settle before the next round
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def postgres_schema_url(base: str, schema: str) -> str:
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def drop_schema(base: str, schema: str) -> None:
    url = make_url(base).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def run_stack(stack: str, args, data: Path) -> list[tuple]:
    postgres, redis_url = os.environ.get("TEST_POSTGRES_URL"), os.environ.get("TEST_REDIS_URL")
    schema = None
    extra = {"SANDBOX_PORT": str(args.port + 1), "GRANIAN_WORKERS": "1"}
    # No prerendered HTML: it does not change the live path, and its build step times out on a
    # loaded machine.
    extra["REFLEX_SSR"] = "false"
    if stack == "default":
        database_url = f"sqlite:///{data / f'{stack}.db'}"
    else:
        if not postgres or (stack == "pg-redis" and not redis_url):
            print(f"{stack}: skipped (TEST_POSTGRES_URL / TEST_REDIS_URL not set)")
            return []
        schema = f"bench_live_{uuid.uuid4().hex[:8]}"
        database_url = postgres_schema_url(postgres, schema)
    if stack == "pg-redis":
        extra |= {"REDIS_URL": redis_url or "", "GRANIAN_WORKERS": "2"}
    counts = data / f"counts-{stack}"
    counts.mkdir()
    shim = data / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE)
    extra |= {"PYTHONPATH": str(shim), "BENCH_SQL_COUNT_DIR": str(counts)}
    # This process writes the changes: its settings name the same database and channel.
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    if stack == "pg-redis":
        os.environ["REDIS_URL"] = redis_url or ""
    get_settings.cache_clear()

    rows = []
    print(f"{stack}: starting the portal (a production build: a minute or more)", flush=True)
    for attempt in (1, 2):  # the frontend build's prerender can time out on a loaded machine
        try:
            portal = start_portal(
                database_url=database_url,
                log_path=data / f"{stack}.log",
                extra_env=extra,
                port=args.port,
            )
            break
        except RuntimeError as error:
            if attempt == 2:
                raise
            print(f"{stack}: the portal did not start ({str(error)[-200:]!r}); again", flush=True)
    try:
        cpu0, sql0 = measure_idle(portal, counts, args.idle)
        rows.append((stack, 0, cpu0, sql0, None))
        print(f"  0 tabs: cpu {cpu0:.1f} %, {sql0:.1f} SQL/s", flush=True)
        for count in args.tabs:
            workspace_id, tabs = open_tabs(portal, count)
            try:
                time.sleep(2.0)  # the watchers start after the page loads
                cpu, sql = measure_idle(portal, counts, args.idle)
                latencies = change_latencies(portal, workspace_id, tabs, args.rounds)
                rows.append((stack, count, cpu, sql, latencies))
                print(
                    f"  {count} tabs: cpu {cpu:.1f} %, {sql:.1f} SQL/s, change → every tab "
                    f"p50 {statistics.median(latencies):.0f} ms, "
                    f"p95 {percentile(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms",
                    flush=True,
                )
            finally:
                for tab in tabs:
                    tab.close()
    finally:
        portal.stop()
        for notifier in live.hooks.forget_notifiers():
            if hasattr(notifier, "_publisher"):
                notifier._publisher.close()
        engine_for(database_url).dispose()
        if schema and postgres:
            drop_schema(postgres, schema)
    return rows


async def api_fanout(kind: str, counts: list[int], rounds: int, data: Path) -> list[tuple]:
    """N waiters on the live API alone (no Reflex, no page reload): commit → every waiter woken."""
    from clerk_portal.ops import migrations
    from tests.support.workspaces import workspace as make_workspace

    postgres, redis_url = os.environ.get("TEST_POSTGRES_URL"), os.environ.get("TEST_REDIS_URL")
    schema = None
    if kind == "local":
        database_url = f"sqlite:///{data / 'api.db'}"
    elif postgres and (kind == "postgresql" or redis_url):
        schema = f"bench_live_{uuid.uuid4().hex[:8]}"
        database_url = postgres_schema_url(postgres, schema)
    else:
        return []
    os.environ["DATABASE_URL"] = database_url
    os.environ.pop("REDIS_URL", None)
    if kind == "redis":
        os.environ["REDIS_URL"] = redis_url or ""
    get_settings.cache_clear()
    migrations.upgrade(database_url)
    rows = []
    try:
        with Session(engine_for(database_url)) as session:
            workspace_id = make_workspace(session, name="Api Bench", owner_email="api@x.example").id
            session.commit()
        notifier = live.current_notifier()
        notifier.ensure_listening()
        await asyncio.wait_for(notifier.connected.wait(), 10)
        await asyncio.sleep(live.waiters.FRESH_SECONDS)  # past the window after a connect
        for count in counts:
            latencies: list[float] = []
            for _ in range(rounds):
                since = await live.mirror_version(workspace_id)
                woken: list[float] = []

                async def tab(since=since, woken=woken):
                    await live.wait_for_change(workspace_id, since, timeout=30)
                    woken.append(time.monotonic())

                tasks = [asyncio.create_task(tab()) for _ in range(count)]
                await eventually_async(lambda n=count: notifier.waiters.waiting(workspace_id) >= n)
                started = time.monotonic()
                await asyncio.to_thread(add_number, database_url, workspace_id)
                await asyncio.wait_for(asyncio.gather(*tasks), 30)
                latencies += [1000 * (at - started) for at in woken]
            rows.append((f"api:{kind}", count, None, None, latencies))
            print(
                f"  api {kind} {count} waiters: p50 {statistics.median(latencies):.1f} ms, "
                f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms",
                flush=True,
            )
    finally:
        for notifier in live.hooks.forget_notifiers():
            await notifier.close()
        engine_for(database_url).dispose()
        if schema and postgres:
            drop_schema(postgres, schema)
    return rows


def _numbers(text: str) -> list[int]:
    return [int(n) for n in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="default,pg,pg-redis")
    parser.add_argument(
        "--tabs", default="10,50,200", type=lambda s: [int(n) for n in s.split(",")]
    )
    parser.add_argument("--rounds", default=5, type=int)
    parser.add_argument("--idle", default=10.0, type=float)
    parser.add_argument("--port", default=4310, type=int)
    args = parser.parse_args()
    threading.stack_size(512 * 1024)  # hundreds of client threads
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for stack in args.stacks.split(","):
            if stack.startswith("api:"):  # the live API alone: api:local, api:postgresql, ...
                rows += asyncio.run(
                    api_fanout(stack.removeprefix("api:"), args.tabs, args.rounds, Path(folder))
                )
            else:
                rows += run_stack(stack, args, Path(folder))
    print()
    print("| stack | tabs | idle CPU % | idle SQL/s | change → every tab p50 / p95 / max ms |")
    print("|---|---|---|---|---|")
    for stack, count, cpu, sql, latencies in rows:
        cpu_text = "-" if cpu is None else f"{cpu:.1f}"
        sql_text = "-" if sql is None else f"{sql:.1f}"
        reach = (
            f"{statistics.median(latencies):.0f} / {percentile(latencies, 0.95):.0f} / "
            f"{max(latencies):.0f}"
            if latencies
            else "-"
        )
        print(f"| {stack} | {count} | {cpu_text} | {sql_text} | {reach} |")


if __name__ == "__main__":
    main()
