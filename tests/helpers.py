"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import Result

Run = Callable[..., Result]


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)
