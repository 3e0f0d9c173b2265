"""The durable prediction log: acknowledged means recorded, at the cost of one fsync per
batch of requests, not per request.

A request that served predictions (or refused records) hands its rows to the
:class:`Journal` and waits; a single writer thread takes everything queued,
writes it in one transaction and commits (**group commit**: while one commit is
in flight, the next requests queue for the following one), then wakes every
request of the batch. Only then does a request answer. The commit is durable:
SQLite runs ``synchronous=FULL`` on the writer's connection (the WAL is fsynced
at every commit; the rest of postpilot keeps ``NORMAL``), PostgreSQL
``synchronous_commit=on``.

When the store cannot take the batch (unreachable, locked for too long, out of
space), the rows go to the :class:`~postpilot.gateway.spool.Spool` (fsynced
before the requests are woken), so requests keep being acknowledged; the writer
replays the spool into the store once a commit succeeds again, and at start-up.
Inserts ignore rows whose id is already stored, so a replay repeated after a crash
stores each row once. When neither the store nor the spool can take the rows, the
requests get :class:`LogUnavailable` and the gateway answers 503: it never
acknowledges a prediction it has not recorded, and it never drops one it has
(``postpilot_gateway_log_dropped_total`` exists to show 0).

On shutdown :meth:`Journal.close` stops taking rows, commits what is queued and
waits for the writer to finish.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Engine, Table, event
from sqlalchemy.exc import SQLAlchemyError

from postpilot.errors import PostpilotError
from postpilot.gateway.spool import Spool, SpoolError
from postpilot.store.models import PredictionRow, QuarantineRow

__all__ = ["TABLES", "Journal", "LogUnavailable"]

log = logging.getLogger("postpilot.gateway")

TABLES: Final[dict[str, Table]] = {
    "predictions": cast(Table, PredictionRow.__table__),
    "quarantine": cast(Table, QuarantineRow.__table__),
}
MAX_BATCH_ROWS: Final = 5_000
CAPACITY: Final = 100_000
"""Rows queued at most; beyond that a request is refused (503), never dropped."""
WAIT_SECONDS: Final = 30.0
REPLAY_EVERY: Final = 1.0


class LogUnavailable(PostpilotError):
    """Neither the store nor the spool could record the rows: answer 503, serve nothing."""


@dataclass
class _Item:
    table: str
    rows: list[dict[str, Any]]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[str]


@dataclass
class JournalStats:
    """What the writer did, for ``/metrics``."""

    committed: int = 0
    spooled: int = 0
    replayed: int = 0
    unrecorded: int = 0
    commits: int = 0
    outage_since: float | None = None
    errors: list[str] = field(default_factory=list)


def durable_engine(url: str) -> Engine:
    """An engine for the log's writes: every commit fsynced."""
    from postpilot.store.engine import make_engine

    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _full(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.close()

    elif engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _sync(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET synchronous_commit TO on")
            cursor.close()
            dbapi_connection.commit()

    return engine


def _insert(engine: Engine, table: Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the engine's dialect."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


def _for_spool(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()} for row in rows
    ]


def _from_spool(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        row = dict(row)
        if isinstance(row.get("created_at"), str):
            row["created_at"] = datetime.fromisoformat(row["created_at"])
        out.append(row)
    return out


class Journal:
    """Group-committed durable writes of log rows, with a spool for store outages."""

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        spool: Spool,
        *,
        max_batch_rows: int = MAX_BATCH_ROWS,
        capacity: int = CAPACITY,
        replay_every: float = REPLAY_EVERY,
        observe: Callable[[str, int], None] | None = None,
    ) -> None:
        """``observe(where, rows)`` is told of every row made durable (``store``,
        ``spool``, ``replayed``) or not (``unrecorded``), from the writer thread."""
        self._observe = observe or (lambda where, rows: None)
        self._engine_source = engine
        self._engine: Engine | None = engine if isinstance(engine, Engine) else None
        self.spool = spool
        self.max_batch_rows = max_batch_rows
        self.capacity = capacity
        self.replay_every = replay_every
        self.stats = JournalStats()
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._queued_rows = 0
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._last_replay = 0.0
        self._start_lock = threading.Lock()

    # -- the request side ------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Rows queued and not yet committed or spooled."""
        return self._queued_rows

    def start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="postpilot-journal", daemon=True
                )
                self._thread.start()

    async def write(self, table: str, rows: list[dict[str, Any]]) -> str:
        """Record ``rows`` durably; ``"store"`` or ``"spool"`` says where. Raises
        :class:`LogUnavailable` when neither could take them (nothing is acknowledged)."""
        if table not in TABLES:
            raise ValueError(f"unknown log table {table!r}")
        if self._closing:
            raise LogUnavailable("the gateway is shutting down; the log takes no new rows")
        self.start()
        with self._count_lock:
            if self._queued_rows + len(rows) > self.capacity:
                self.stats.unrecorded += len(rows)
                self._observe("unrecorded", len(rows))
                raise LogUnavailable(
                    f"the log's queue holds {self._queued_rows:,} rows, its capacity: the "
                    "store cannot keep up"
                )
            self._queued_rows += len(rows)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._queue.put(_Item(table, rows, loop, future))
        try:
            return await asyncio.wait_for(asyncio.shield(future), WAIT_SECONDS)
        except TimeoutError as exc:
            raise LogUnavailable(
                f"the log did not record the rows within {WAIT_SECONDS:g} s"
            ) from exc

    def close(self, timeout: float = 25.0) -> None:
        """Stop taking rows, commit (or spool) what is queued, stop the writer."""
        self._closing = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
        self.spool.close_segment()
        if self._engine is not None:
            self._engine.dispose()

    # -- the writer thread -----------------------------------------------------------------

    def _engine_now(self) -> Engine:
        if self._engine is None:
            source = self._engine_source
            assert not isinstance(source, Engine)
            self._engine = source()
        return self._engine

    def _run(self) -> None:
        self._replay()  # what an earlier process spooled and could not replay
        stop = False
        while not stop:
            try:
                first = self._queue.get(timeout=self.replay_every)
            except queue.Empty:
                if self.stats.outage_since is None:
                    self._replay_due()
                continue
            batch: list[_Item] = []
            rows = 0
            item: _Item | None = first
            while item is not None:
                batch.append(item)
                rows += len(item.rows)
                if rows >= self.max_batch_rows:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if item is None:
                stop = True
            if batch:
                self._write(batch)
        # drain anything queued behind the stop marker (requests that raced the close)
        leftover: list[_Item] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                leftover.append(item)
        if leftover:
            self._write(leftover)

    def _write(self, batch: list[_Item]) -> None:
        outcome: str | BaseException
        try:
            self._commit([(item.table, item.rows) for item in batch])
        except SQLAlchemyError as exc:
            if self.stats.outage_since is None:
                self.stats.outage_since = time.monotonic()
                log.error("the store cannot take the prediction log; spooling: %s", exc)
            try:
                self._spool(batch)
            except SpoolError as spool_exc:
                log.error("the spool cannot take the prediction log either: %s", spool_exc)
                outcome = LogUnavailable(
                    "neither the store nor the spool could record the prediction"
                )
                self.stats.unrecorded += sum(len(i.rows) for i in batch)
                self._observe("unrecorded", sum(len(i.rows) for i in batch))
            else:
                outcome = "spool"
                self.stats.spooled += sum(len(i.rows) for i in batch)
                self._observe("spool", sum(len(i.rows) for i in batch))
        else:
            outcome = "store"
            self.stats.committed += sum(len(i.rows) for i in batch)
            self._observe("store", sum(len(i.rows) for i in batch))
            self.stats.commits += 1
            if self.stats.outage_since is not None:
                log.warning("the store takes the prediction log again; replaying the spool")
                self.stats.outage_since = None
                self._last_replay = 0.0
        with self._count_lock:
            self._queued_rows -= sum(len(i.rows) for i in batch)
        for item in batch:
            item.loop.call_soon_threadsafe(_settle, item.future, outcome)
        if outcome == "store":
            self._replay_due()

    def _commit(self, writes: list[tuple[str, list[dict[str, Any]]]]) -> None:
        engine = self._engine_now()
        grouped: dict[str, list[dict[str, Any]]] = {}
        for table, rows in writes:
            grouped.setdefault(table, []).extend(rows)
        with engine.begin() as conn:
            for table, rows in grouped.items():
                conn.execute(_insert(engine, TABLES[table]), rows)

    def _spool(self, batch: list[_Item]) -> None:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for item in batch:
            grouped.setdefault(item.table, []).extend(item.rows)
        for table, rows in grouped.items():
            self.spool.append(table, _for_spool(rows))

    def _replay_due(self) -> None:
        if time.monotonic() - self._last_replay >= self.replay_every:
            self._replay()

    def _replay(self) -> None:
        """Move every replayable spool segment into the store; stop at the first failure."""
        self._last_replay = time.monotonic()
        if self.spool.pending() == 0:
            return
        self.spool.close_segment()  # this process's own records become replayable
        for segment in self.spool.segments():
            try:
                records = self.spool.read(segment)
            except OSError as exc:
                log.error("spool: cannot read %s: %s", segment, exc)
                continue
            if records is None:  # its writer holds it, or another process replayed it
                continue
            try:
                for table, rows in records:
                    if table in TABLES and rows:
                        self._commit([(table, _from_spool(rows))])
            except SQLAlchemyError as exc:
                log.warning("spool replay stopped (the store failed again): %s", exc)
                return
            self.stats.replayed += sum(len(rows) for _, rows in records)
            self._observe("replayed", sum(len(rows) for _, rows in records))
            self.spool.remove(segment)


def _settle(future: asyncio.Future[str], outcome: str | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
