"""Acknowledged means recorded: the gateway killed with SIGKILL mid-load, and its store
cut off mid-run, lose no prediction a client saw acknowledged."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from postpilot import Registry
from postpilot.gateway.app import Gateway, create_app
from postpilot.gateway.ratelimit import MemoryRateLimiter
from postpilot.store.models import PredictionRow
from tests.gateway.world import PRODUCT, World, build, records

pytestmark = pytest.mark.slow

PREDICT = f"/v1/products/{PRODUCT}/predict"
KILLS = int(os.environ.get("POSTPILOT_KILL_RUNS", "5"))
"""How many kill -9 rounds, each killing a worker and then the whole gateway (the issue
asks for at least 5 here, 20 by hand: ``POSTPILOT_KILL_RUNS=20``)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(world: World, home: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POSTPILOT_DATABASE_URL": str(world.registry.store.url),
        "POSTPILOT_SPOOL_DIR": str(home / "spool"),
    }
    script = Path(sys.executable).parent / "postpilot"
    args = ["serve", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    with (home / f"serve-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            [str(script), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # its own process group: kill -9 takes every worker
        )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (home / f"serve-{port}.log").read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the gateway did not start in 60 s"
        time.sleep(0.1)


def _workers(supervisor: int) -> list[int]:
    """The uvicorn worker processes of a supervisor (its children but the resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
        if parent and int(parent[1]) == supervisor and b"resource_tracker" not in command:
            found.append(int(entry.name))
    return found


def _load(url: str, key: str, stop: threading.Event, acknowledged: list[str]) -> None:
    """Send requests until ``stop``; keep the request ids answered 200."""
    record = records(1)[0]
    with httpx.Client(base_url=url, timeout=10) as client:
        while not stop.is_set():
            request_id = f"kill-{uuid.uuid4().hex}"
            try:
                response = client.post(
                    PREDICT,
                    json={"record": record},
                    headers={"Authorization": f"Bearer {key}", "X-Request-ID": request_id},
                )
            except httpx.HTTPError:
                continue  # the server died under this request: not acknowledged
            if response.status_code == 200:
                acknowledged.append(request_id)


def _logged(world: World, request_ids: list[str]) -> set[str]:
    with world.registry.store.reading() as session:
        rows = session.scalars(select(PredictionRow.request_id)).all()
    return set(rows) & set(request_ids)


def _under_load(acknowledged: list[str], seconds: float = 0.4) -> None:
    """Wait until the gateway has acknowledged requests for a while (it is mid-load)."""
    before = len(acknowledged)
    deadline = time.monotonic() + 60
    while True:
        time.sleep(seconds)
        if len(acknowledged) > before:
            return
        assert time.monotonic() < deadline, "the gateway answered nothing for 60 s"


def test_kill_9_mid_load_loses_no_acknowledged_prediction(tmp_path: Path) -> None:
    """Under constant load, round after round: start the gateway (two workers), SIGKILL
    one serving worker (its supervisor starts another), then SIGKILL the whole gateway,
    every process of it, and start it again. Every request id the client saw
    acknowledged in any round is in the log."""
    world = build(tmp_path / "home")
    key = world.registry.create_key(
        "crm-eu", products=[PRODUCT], scopes=["predict"], rate=100_000, burst=100_000
    ).plaintext
    home = tmp_path / "home"
    acknowledged: list[str] = []
    for _ in range(KILLS):
        port = _free_port()
        gateway = _start(world, home, port, workers=2)
        stop = threading.Event()
        url = f"http://127.0.0.1:{port}"
        threads = [
            threading.Thread(target=_load, args=(url, key, stop, acknowledged)) for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        try:
            _under_load(acknowledged)
            workers = _workers(gateway.pid)
            assert len(workers) == 2, workers
            os.kill(workers[0], signal.SIGKILL)  # one worker, mid-load
            _under_load(acknowledged)
            os.killpg(gateway.pid, signal.SIGKILL)  # the whole gateway, mid-load
            gateway.wait(timeout=10)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
    assert len(acknowledged) > KILLS * 10
    restarted = _start(world, home, _free_port())
    try:
        assert _logged(world, acknowledged) == set(acknowledged)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)


class _Proxy:
    """A TCP proxy to PostgreSQL that can cut every connection, as a network outage does."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target = target_port
        self.port = _free_port()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _up(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _down(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    def up(self) -> None:
        asyncio.run_coroutine_threadsafe(self._up(), self.loop).result(10)

    def down(self) -> None:
        asyncio.run_coroutine_threadsafe(self._down(), self.loop).result(10)

    def close(self) -> None:
        async def _cancel() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(_cancel(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    proxy = _Proxy()
    proxy.up()
    yield proxy
    proxy.down()
    proxy.close()


@pytest.mark.postgres
def test_the_store_cut_off_mid_run_is_spooled_and_replayed_exactly_once(
    tmp_path: Path, postgres_url: str, proxy: _Proxy
) -> None:
    world = build(tmp_path / "home", postgres_url)
    # the gateway reaches PostgreSQL through the proxy; the test checks the store directly
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert url != postgres_url
    gateway = Gateway(
        Registry(url, actor="gateway@example.com"),
        limiter=MemoryRateLimiter(),
        refresh_seconds=0.2,
    )
    app = create_app(gateway)
    journal = app.state.gateway.journal
    headers = world.headers("predict")

    def send(client: TestClient, n: int, tag: str) -> list[str]:
        ids = []
        for i in range(n):
            request_id = f"{tag}-{i}"
            response = client.post(
                PREDICT,
                json={"record": records(1)[0]},
                headers={**headers, "X-Request-ID": request_id},
            )
            assert response.status_code == 200, (tag, i, response.text)
            ids.append(request_id)
        return ids

    with TestClient(app) as client:
        before = send(client, 10, "before")
        proxy.down()  # PostgreSQL is unreachable from here on
        time.sleep(0.5)  # past the key and route caches: they must not need the store
        during = send(client, 20, "during")
        assert journal.stats.spooled == 20
        assert journal.spool.pending() >= 1
        proxy.up()
        after = send(client, 5, "after")
        deadline = time.monotonic() + 20
        while journal.spool.pending() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert journal.spool.pending() == 0
    with world.registry.store.reading() as session:
        counts = dict(
            session.execute(
                select(PredictionRow.request_id, func.count()).group_by(PredictionRow.request_id)
            ).all()
        )
    assert {i: counts.get(i) for i in before + during + after} == {
        i: 1 for i in before + during + after
    }


def test_sigterm_finishes_in_flight_requests_and_exits_in_time(tmp_path: Path) -> None:
    world = build(tmp_path / "home")
    port = _free_port()
    process = _start(world, tmp_path / "home", port)
    acknowledged: list[str] = []
    stop = threading.Event()
    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(
                _load, f"http://127.0.0.1:{port}", world.keys["predict"], stop, acknowledged
            )
        time.sleep(1.0)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        took = time.monotonic() - started
        stop.set()
    assert code in (0, -signal.SIGTERM)  # uvicorn exits by re-raising the signal it caught
    assert took < 30
    assert acknowledged
    assert _logged(world, acknowledged) == set(acknowledged)
