"""Shared fixtures: every registry test runs on SQLite and on PostgreSQL.

CLI tests that touch the store take ``cli_store``: the same test runs once on the
default SQLite store under ``POSTPILOT_HOME`` and once with ``POSTPILOT_DATABASE_URL``
set to a fresh PostgreSQL schema (the autouse ``_isolated_env`` clears every
``POSTPILOT_*`` variable first, so without it a CLI test sees SQLite only).

PostgreSQL tests use the server at ``POSTPILOT_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://127.0.0.1:5432/test``), each test in a fresh schema that
is dropped afterwards. If the server is down these tests fail, loudly; they are
never skipped.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from postpilot import Registry
from postpilot.cli import app
from tests.helpers import OPENED, CliStore, Run, close_opened_registries

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# The property tests run with a fixed seed by default, so a red run (CI runs the README's
# plain `pytest`) is reproducible and a green one stays green. Explore new examples with
# POSTPILOT_HYPOTHESIS=explore (random seeds; add POSTPILOT_FUZZ_EXAMPLES=10 for more).
settings.register_profile("fixed", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("POSTPILOT_HYPOTHESIS", "fixed"))

PG_URL = os.environ.get("POSTPILOT_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
ACTOR = "tester@example.com"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's settings or writes into the working directory."""
    for name in list(os.environ):
        if name.startswith("POSTPILOT_") and name != "POSTPILOT_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("POSTPILOT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTPILOT_USER", ACTOR)


@pytest.fixture(autouse=True)
def _close_registries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every registry a test opens (the CLI's included) is closed when the test ends;
    CLI runners close them after each invocation (:func:`close_opened_registries`)."""
    opened = Registry.__init__

    def init(self: Registry, *args: object, **kwargs: object) -> None:
        opened(self, *args, **kwargs)  # type: ignore[arg-type]
        OPENED.append(self)

    monkeypatch.setattr(Registry, "__init__", init)
    try:
        yield
    finally:
        close_opened_registries()


def postgres_schema_url() -> Iterator[str]:
    schema = f"pp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from postgres_schema_url()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'postpilot.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    reg = Registry(database_url, actor=ACTOR)
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def team_registry(registry: Registry) -> Registry:
    """A registry with a few people and a team."""
    for email, name in [
        ("maya@example.com", "Maya Chen"),
        ("dev@example.com", "Dev Patel"),
        ("ines@example.com", "Ines Duarte"),
        ("sam@example.com", "Sam Okafor"),
    ]:
        registry.add_person(email, name=name)
    registry.add_team("ml-platform")
    return registry


@pytest.fixture
def cli() -> Run:
    """Run ``postpilot ARGS`` in-process; ``expect`` is the exit code it must give."""
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Result:
        try:
            result = runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            close_opened_registries()
        assert result.exit_code == expect, (result.stdout, result.stderr)
        return result

    return run


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cli_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliStore]:
    """The store the CLI uses, initialised, on each backend.

    SQLite is the default a user gets (``$POSTPILOT_HOME/postpilot.db``, no URL set);
    PostgreSQL is a fresh schema named by ``POSTPILOT_DATABASE_URL``. The fixture's
    ``snapshot()`` (row counts of every table and the audit head) lets a test prove that
    a failed command changed nothing.
    """
    schemas: Iterator[str] | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{(tmp_path / 'home' / 'postpilot.db').resolve()}"
    else:
        schemas = postgres_schema_url()
        url = next(schemas)
        monkeypatch.setenv("POSTPILOT_DATABASE_URL", url)
    store = CliStore(request.param, url)
    try:
        result = CliRunner().invoke(app, ["init"], catch_exceptions=False)
        close_opened_registries()
        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert result.stdout.startswith(f"store ready: {url.split('://')[0]}"), result.stdout
        yield store
    finally:
        store.close()
        if schemas is not None:
            next(schemas, None)  # resuming the generator drops the schema


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """One local Spark session for the whole run (starting one takes seconds): the Spark
    profiler's tests (tests/profiles/test_spark.py) and the Spark engine's (tests/spark)."""
    from pyspark.sql import SparkSession

    saved = {name: os.environ.get(name) for name in ("PYSPARK_PYTHON", "SPARK_LOCAL_IP")}
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the executors' Python: this one
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = (
        SparkSession.builder.master("local[2]")
        .appName("postpilot-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "768m")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
