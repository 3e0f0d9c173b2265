"""The gateway benchmark's pieces import and its load generator's bookkeeping is right.

Nothing here is timed or starts a server: the benchmark itself is a script
(``bench/gateway_bench.py``), never part of the suite.
"""

from __future__ import annotations

import doctest
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench() -> Iterator[dict[str, ModuleType]]:
    path, environ = list(sys.path), dict(os.environ)  # gateway_bench sets both at import
    sys.path.insert(0, str(BENCH))
    try:
        yield {
            name: importlib.import_module(name)
            for name in ("loadgen", "bare_app", "gateway_profile", "gateway_bench")
        }
    finally:
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(environ)


def test_loadgen_doctests(bench: dict[str, ModuleType]) -> None:
    result = doctest.testmod(bench["loadgen"])
    assert result.attempted > 0
    assert result.failed == 0


def test_request_bytes_is_a_complete_request(bench: dict[str, ModuleType]) -> None:
    raw = bench["loadgen"].request_bytes(
        "127.0.0.1", 8000, "/predict", {"Authorization": "Bearer pp_x"}, '{"record": {}}'
    )
    head, _, body = raw.partition(b"\r\n\r\n")
    assert body == b'{"record": {}}'
    assert b"\r\nContent-Length: 14" in head
    assert b"\r\nAuthorization: Bearer pp_x" in head


def test_summarize_counts_ok_answers_and_open_loop_timeouts(
    bench: dict[str, ModuleType],
) -> None:
    results = [(0.0, 0.010, 200), (0.1, 0.130, 200), (0.2, 0.205, 429), (0.3, 5.0, 200)]
    summary = bench["loadgen"].summarize(
        results, window=(0.0, 1.0), scheduled=6, lateness=[0.001], cpu=0.5
    )
    assert summary["ok"] == 2  # the answer done after the window is not counted
    assert summary["answered_ok"] == 3
    assert summary["statuses"] == {"200": 2, "429": 1}
    assert summary["timeouts"] == 2  # six scheduled, four answered
    assert summary["errors"] == 3  # the 429 and the two timeouts
    assert summary["p99_ms"] == pytest.approx(30.0)
    assert summary["throughput"] == pytest.approx(2.0)


def test_the_bare_endpoint_takes_the_models_inputs(bench: dict[str, ModuleType]) -> None:
    bare = bench["bare_app"]
    assert set(bare.Record.model_fields) == set(bare.FEATURES)
    assert tuple(bench["gateway_bench"].FEATURES) == bare.FEATURES
