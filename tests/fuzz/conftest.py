"""Fixtures of the fuzz suite: a fresh working folder per example, a product to use."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from postpilot.cli import app
from tests.helpers import CliStore, close_opened_registries

PRODUCT = "fuzz-product"
"""A product every fuzz test's store holds, for ``--product``."""

Folder = Callable[[], AbstractContextManager[Path]]


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    """``with folder() as work:`` a new, empty working folder, made the current one.

    Hypothesis runs a test body many times with the same fixtures, so each example
    asks for its own folder.
    """
    counter = itertools.count()

    @contextmanager
    def make() -> Iterator[Path]:
        work = tmp_path / f"example-{next(counter)}"
        work.mkdir()
        old = Path.cwd()
        os.chdir(work)
        try:
            yield work
        finally:
            os.chdir(old)

    return make


@pytest.fixture
def store(cli_store: CliStore) -> CliStore:
    """The CLI's store on each backend, holding :data:`PRODUCT` and one person."""
    runner = CliRunner()
    for args in (
        ["person", "add", "owner@example.com", "--name", "Owner"],
        ["product", "create", PRODUCT, "--owner", "owner@example.com"],
    ):
        result = runner.invoke(app, args, catch_exceptions=False)
        close_opened_registries()
        assert result.exit_code == 0, (result.stdout, result.stderr)
    return cli_store
