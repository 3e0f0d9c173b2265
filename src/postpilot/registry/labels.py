"""Labels: the actual outcome of a prediction, arriving weeks later, keyed by prediction id.

Labels are ingested in batches and upserted: a prediction id sent again with
the same value is left as it was, with a different value it is replaced (the
last batch wins). So ingesting a file in two parts stores exactly what
ingesting it at once does. Performance is later computed by joining labels to
predictions on the prediction id.

Each value is stored as JSON text, so ints, floats, strings and booleans come
back exactly as sent (``1`` stays an int, ``1.0`` a float, ``0.1`` is ``0.1``).
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Dialect,
    Integer,
    Table,
    Text,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

from postpilot.errors import InputError
from postpilot.registry._tx import Tx
from postpilot.store.models import LabelRow

__all__ = [
    "CHUNK",
    "MAX_ID_LENGTH",
    "CheckedLabels",
    "LabelIngest",
    "check",
    "count",
    "describe_bad_id",
    "get",
    "ingest",
]

MAX_ID_LENGTH = 200
CHUNK = 10_000
"""Ids per statement, read or written. Lookups send each chunk as one list: an IN list
on SQLite (10,001 parameters, below its limit of 32,766) and one array parameter on
PostgreSQL (``= ANY(:ids)``, planned once whatever its length). That needs no DDL, so
it works in read-only transactions too; a temporary table would ship the same ids to
the server and then join them, for no gain at these sizes."""

_TABLE = cast(Table, LabelRow.__table__)


@dataclass(frozen=True)
class LabelIngest:
    """What one ingest did: ``received`` ids, of which ``new``, ``updated`` and ``unchanged``."""

    product: str
    received: int
    new: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class CheckedLabels:
    """Validated prediction ids and their values as JSON text, ready to store."""

    ids: list[str]
    encoded: list[str]


def check(ids: Sequence[str], values: Sequence[object]) -> CheckedLabels:
    """Validate ids and values and encode the values; InputError names the first bad one.

    Runs before the write transaction opens, so the store is not locked meanwhile.
    """
    if isinstance(ids, str) or isinstance(values, str):
        raise InputError(
            "ids and values must be sequences, not one string",
            field="ids" if isinstance(ids, str) else "values",
        )
    ids, values = list(ids), list(values)
    if len(ids) != len(values):
        raise InputError(
            f"got {len(ids):,} ids but {len(values):,} values",
            field="values",
            hint="Pass one value per prediction id",
        )
    for position, key in enumerate(ids):
        if type(key) is not str or not 0 < len(key) <= MAX_ID_LENGTH or "\x00" in key:
            raise InputError(describe_bad_id(key, f"at position {position}"), field="ids")
    if len(set(ids)) != len(ids):
        first, second, key = _first_duplicate(ids)
        raise InputError(
            f"prediction id {key!r} appears twice, at positions {first} and {second}",
            field="ids",
            hint="Send each prediction id once per call",
        )
    return CheckedLabels(ids, [_encode(v, position) for position, v in enumerate(values)])


def ingest(tx: Tx, slug: str, labels: CheckedLabels | Iterable[CheckedLabels]) -> LabelIngest:
    """Upsert the labels of a product; one ``labels.ingested`` audit event with the counts.

    Chunk by chunk, the stored values of the chunk's ids are read and compared, and
    only new and changed labels are written, by one bulk upsert per chunk. (On
    PostgreSQL, two ingests of the same ids at the same moment store the right
    values, but both may count a label as new.) ``labels`` may come as batches (a file
    read in slices), stored in this one transaction: no id may be in two of them (the
    file reader refuses that at the end, which undoes the transaction).
    """
    product = tx.product(slug)
    conn = tx.session.connection()
    write = _writer(conn, product.id, tx.now, tx.actor)
    # ids are unique within a call, so a product without labels needs no lookups
    any_stored = select(_TABLE.c.id).where(_TABLE.c.product_id == product.id).limit(1)
    empty = tx.session.scalar(any_stored) is None
    received = new = updated = 0
    step = _chunk(conn)
    for batch in [labels] if isinstance(labels, CheckedLabels) else labels:
        received += len(batch.ids)
        for start in range(0, len(batch.ids), step):
            ids = batch.ids[start : start + step]
            stored = {} if empty else _stored(conn, product.id, ids)
            keys, values = [], []
            for key, value in zip(ids, batch.encoded[start : start + step], strict=True):
                before = stored.get(key)
                if before != value:
                    keys.append(key)
                    values.append(value)
                    if before is None:
                        new += 1
                    else:
                        updated += 1
            if keys:
                write(keys, values)
    result = LabelIngest(
        product=slug,
        received=received,
        new=new,
        updated=updated,
        unchanged=received - new - updated,
    )
    counts = {k: getattr(result, k) for k in ("received", "new", "updated", "unchanged")}
    tx.record("labels.ingested", "labels", slug, product=slug, after=counts)
    return result


def get(tx: Tx, slug: str, ids: Sequence[str] | None) -> dict[str, object]:
    """The labels of those prediction ids (all when None), in the order asked for."""
    product = tx.product(slug)
    conn = tx.session.connection()
    if ids is None:
        query = (
            select(_TABLE.c.prediction_id, _TABLE.c.value)
            .where(_TABLE.c.product_id == product.id)
            .order_by(_TABLE.c.prediction_id)
        )
        found = dict(conn.execute(query).all())
        return dict(zip(found, _decode(list(found.values())), strict=True))
    if isinstance(ids, str):
        raise InputError("ids must be a sequence of prediction ids, not one string", field="ids")
    asked = [key for key in ids if isinstance(key, str) and "\x00" not in key]  # none stored
    found = {}
    step = _chunk(conn)
    for start in range(0, len(asked), step):
        found.update(_stored(conn, product.id, asked[start : start + step]))
    keys = [k for k in dict.fromkeys(asked) if k in found]
    return dict(zip(keys, _decode([found[k] for k in keys]), strict=True))


def count(tx: Tx, slug: str) -> int:
    product = tx.product(slug)
    query = select(func.count()).select_from(_TABLE).where(_TABLE.c.product_id == product.id)
    return tx.session.scalar(query) or 0


# -- bulk statements, per dialect ---------------------------------------------

_COLUMNS = ("product_id", "prediction_id", "value", "ingested_at", "ingested_by")
_LOOKUP = select(_TABLE.c.prediction_id, _TABLE.c.value).where(
    _TABLE.c.product_id == bindparam("product_id")
)
_LOOKUP_IN = _LOOKUP.where(_TABLE.c.prediction_id.in_(bindparam("ids", expanding=True)))
_LOOKUP_ANY = _LOOKUP.where(
    _TABLE.c.prediction_id == any_(bindparam("ids", type_=postgresql.ARRAY(Text)))
)


def _chunk(conn: Connection) -> int:
    """CHUNK, or less where SQLite was built with a lower parameter limit (999 before 3.32)."""
    if conn.dialect.name != "sqlite":
        return CHUNK
    driver = conn.connection.dbapi_connection
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if driver else CHUNK + 1
    return min(CHUNK, limit - 1)


def _stored(conn: Connection, product_id: int, ids: list[str]) -> dict[str, str]:
    """The stored values (JSON text) among ``ids``, by prediction id."""
    query = _LOOKUP_ANY if conn.dialect.name == "postgresql" else _LOOKUP_IN
    return dict(conn.execute(query, {"product_id": product_id, "ids": ids}).all())


def _upsert(insert: Any) -> Any:
    """``insert`` (a dialect's ``Insert``) with ``ON CONFLICT (product, id) DO UPDATE``."""
    return insert.on_conflict_do_update(
        index_elements=[_TABLE.c.product_id, _TABLE.c.prediction_id],
        set_={name: insert.excluded[name] for name in ("value", "ingested_at", "ingested_by")},
    )


def _writer(
    conn: Connection, product_id: int, now: datetime, actor: str
) -> Callable[[list[str], list[str]], None]:
    """A function upserting (prediction ids, JSON values) of one product in bulk."""
    fixed = {"product_id": product_id, "ingested_at": now, "ingested_by": actor}
    if conn.dialect.name == "postgresql":
        # one statement per chunk: two array parameters, unnested on the server
        rows = (
            func.unnest(
                bindparam("ids", type_=postgresql.ARRAY(Text)),
                bindparam("values", type_=postgresql.ARRAY(Text)),
            )
            .table_valued("prediction_id", "value")
            .render_derived(name="incoming")
        )
        source = select(
            bindparam("product_id", type_=Integer),
            rows.c.prediction_id,
            rows.c.value,
            bindparam("ingested_at", type_=_TABLE.c.ingested_at.type),
            bindparam("ingested_by", type_=Text),
        )
        statement = _upsert(postgresql.insert(_TABLE).from_select(_COLUMNS, source))

        def write_array(ids: list[str], values: list[str]) -> None:
            conn.execute(statement, {**fixed, "ids": ids, "values": values})

        return write_array

    # SQLite: the statement compiled once, each chunk handed to the driver's
    # executemany; SQLAlchemy's per-row parameter processing would cost more
    # than SQLite's own work. The constant columns are converted once.
    insert = sqlite.insert(_TABLE).values({name: bindparam(name) for name in _COLUMNS})
    compiled = _upsert(insert).compile(dialect=conn.dialect)
    if list(compiled.positiontup or ()) != list(_COLUMNS):  # pragma: no cover
        raise AssertionError(f"unexpected parameters {compiled.positiontup}")
    at = _driver_value(_TABLE.c.ingested_at.type, now, conn.dialect)

    def write_many(ids: list[str], values: list[str]) -> None:
        conn.exec_driver_sql(
            compiled.string,
            [(product_id, key, value, at, actor) for key, value in zip(ids, values, strict=True)],
        )

    return write_many


def _driver_value(type_: TypeEngine[Any], value: object, dialect: Dialect) -> object:
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


def _encode(value: object, position: int) -> str:
    """JSON text for one label; exact for ints and floats (``repr`` round-trips)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(
                f"the value at position {position} is {value!r}, which JSON cannot hold",
                field="values",
                hint="Send finite numbers only; leave out labels that are not known",
            )
        return float.__repr__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a NUL byte is escaped as \u0000
    item = getattr(value, "item", None)  # a numpy scalar: its Python value
    if type(value).__module__ == "numpy" and callable(item):
        return _encode(item(), position)
    allowed = "an int, float, str or bool"
    if value is None:
        raise InputError(
            f"the value at position {position} is None; a label must be {allowed}",
            field="values",
            hint="Leave out predictions whose label is not known yet",
        )
    raise InputError(
        f"the value at position {position} is a {type(value).__name__}; a label must be {allowed}",
        field="values",
    )


def _decode(encoded: list[str]) -> list[object]:
    # one parse of a JSON array is several times faster than one json.loads per value
    return list(json.loads("[" + ",".join(encoded) + "]")) if encoded else []


def describe_bad_id(key: object, where: str) -> str:
    """Why ``key`` is not a prediction id (not a string, empty, too long, or with a NUL)."""
    if type(key) is not str:
        return f"the prediction id {where} is a {type(key).__name__}, not a string"
    if not key:
        return f"the prediction id {where} is empty"
    if "\x00" in key:
        return f"the prediction id {where} holds a NUL byte ('\\x00'), which cannot be stored"
    return f"the prediction id {where} has {len(key)} characters; at most {MAX_ID_LENGTH} fit"


def _first_duplicate(ids: Sequence[str]) -> tuple[int, int, str]:
    """The positions of the first id seen twice: the earliest second occurrence."""
    seen: dict[str, int] = {}
    for position, key in enumerate(ids):
        if key in seen:
            return seen[key], position, key
        seen[key] = position
    raise AssertionError("no duplicate")  # pragma: no cover - only called with one
