"""The backend registry: flavors, aliases, and an import that stays light."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import postpilot
from postpilot.errors import InputError
from postpilot.gateway.backends import (
    ALIASES,
    BACKENDS,
    HttpBackend,
    MlflowBackend,
    SklearnBackend,
    backend_class,
)

HEAVY = ("sklearn", "joblib", "mlflow", "pandas", "httpx", "numpy", "anyio")


def test_keys_and_aliases_name_their_backends() -> None:
    assert {"sklearn": SklearnBackend, "mlflow": MlflowBackend, "http": HttpBackend} == BACKENDS
    assert backend_class("joblib") is SklearnBackend
    for alias, key in ALIASES.items():
        assert backend_class(alias) is BACKENDS[key]
        assert alias not in BACKENDS


@pytest.mark.parametrize("flavor", ["onnx", "", "SKLEARN", None])
def test_an_unknown_flavor_lists_the_served_ones(flavor: str) -> None:
    with pytest.raises(InputError) as caught:
        backend_class(flavor)
    assert caught.value.field == "flavor"
    assert "http, joblib, mlflow, sklearn" in str(caught.value)


def test_importing_the_backends_imports_no_heavy_library(tmp_path: Path) -> None:
    source = str(Path(postpilot.__file__).resolve().parents[1])
    code = (
        "import sys, postpilot.gateway.backends; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, capture_output=True
    )
    assert done.stdout.decode().strip() == "[]"
