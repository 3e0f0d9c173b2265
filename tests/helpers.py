"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, func, select
from typer.testing import Result

Run = Callable[..., Result]

OPENED: list[Any] = []
"""Registries opened since the last :func:`close_opened_registries` (see conftest)."""


def close_opened_registries() -> None:
    """Close every registry opened since the last call.

    A CLI command opens a registry and leaves it to the process's exit to close; run
    in-process, each would keep a PostgreSQL connection open until garbage collection
    (psycopg then warns, and warnings are errors here). The tests close them after each
    invocation. Closing only disposes the engine's pool: a registry a test still holds
    opens a new connection on its next use.
    """
    while OPENED:
        OPENED.pop().close()


@dataclass(frozen=True)
class StoreSnapshot:
    """What a failed command must leave as it found: rows per table, the audit head."""

    rows: dict[str, int]
    audit_head: tuple[int, str] | None


@dataclass
class CliStore:
    """The store a CLI test runs against: ``backend`` is sqlite or postgresql."""

    backend: str
    url: str
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.url)
        return self._engine

    def snapshot(self) -> StoreSnapshot:
        from postpilot.store.models import AuditHeadRow, Base

        with self.engine.connect() as conn:
            rows = {
                table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for table in Base.metadata.sorted_tables
            }
            head = conn.execute(select(AuditHeadRow.seq, AuditHeadRow.hash)).first()
        return StoreSnapshot(rows, (int(head[0]), str(head[1])) if head else None)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)
