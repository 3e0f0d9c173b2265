"""``postpilot serve`` as a user runs it: a real uvicorn with several workers, over HTTP.

The rate limit of a key must hold across workers: each worker is a separate
process, so the limit is shared through Redis (``POSTPILOT_RATE_LIMIT_URL``) or,
with nothing configured, through the metadata store.

The server listens on ``HOST``, a loopback address that is not ``--host``'s default
(127.0.0.1), so the test sees ``--host`` take effect; and with ``--log-level warning``
uvicorn's INFO lines stay out of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.gateway.world import PRODUCT, World, build, records

pytestmark = pytest.mark.slow

BURST = 12
HOST = "127.0.0.2"  # Linux answers on all of 127.0.0.0/8
ATTEMPTS = 40


def _free_port() -> int:
    """A port free on ``HOST`` and on 127.0.0.1: the test connects to 127.0.0.1 on it to
    prove the server is not there, so no other process (Spark's JVM, left running by
    the session's Spark fixture, listens on loopback ports) may be either."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
            with socket.socket() as default:
                try:
                    default.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise AssertionError("no port free on both loopback addresses")


def _postpilot() -> str:
    script = Path(sys.executable).parent / "postpilot"
    assert script.exists(), f"the console script is not installed beside {sys.executable}"
    return str(script)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'postpilot.db'}")


def _serve(world: World, tmp_path: Path, extra_env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "POSTPILOT_DATABASE_URL": str(world.registry.store.url),
        **extra_env,
    }
    log = (tmp_path / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            _postpilot(),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the gateway did not become ready in 60 s"
            time.sleep(0.2)
        with pytest.raises(httpx.ConnectError):  # --host: not on the default address
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        yield url
        # --log-level warning: none of uvicorn's INFO lines (started, waiting, ...)
        assert "INFO" not in (tmp_path / f"serve-{port}.log").read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            log.close()


def _hammer(url: str, key: str) -> list[int]:
    record = records(1)[0]

    def one(_: int) -> int:
        response = httpx.post(
            f"{url}/v1/products/{PRODUCT}/predict",
            json={"record": record},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(ATTEMPTS)))


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="store"),
        pytest.param({"POSTPILOT_RATE_LIMIT_URL": "redis://127.0.0.1:6379/14"}, id="redis"),
    ],
)
def test_the_rate_limit_holds_across_workers(
    world: World, tmp_path: Path, env: dict[str, str]
) -> None:
    key = world.registry.create_key(
        "crm-eu", products=[PRODUCT], scopes=["predict"], rate=0.001, burst=BURST
    )
    for url in _serve(world, tmp_path, env):
        statuses = _hammer(url, key.plaintext)
        assert sorted(set(statuses)) == [200, 429], statuses
        assert statuses.count(200) == BURST
        assert statuses.count(429) == ATTEMPTS - BURST
        scrape = world.registry.create_key("billing", products=["*"], scopes=["view"])
        metrics = httpx.get(
            f"{url}/metrics", headers={"Authorization": f"Bearer {scrape.plaintext}"}
        ).text
        # the scrape adds up both workers' counters
        assert (
            f'postpilot_gateway_rate_limited_total{{consumer="crm-eu"}} {ATTEMPTS - BURST}.0'
            in (metrics)
        )
    assert world.registry.prediction_count(PRODUCT) == BURST
