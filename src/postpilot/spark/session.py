"""The Spark session and the inputs a command names: a path Spark reads, or a table.

``session()`` reuses the session that ``spark-submit``, ``pyspark`` or a Databricks
notebook or job already started (``SparkSession.builder.getOrCreate()``); with none,
it starts one in local mode (``local[*]``) whose Python workers run this
interpreter, so a laptop needs nothing but ``pip install 'postpilot[spark]'`` and Java.

``read(source)`` tells a table from a path by its spelling: a name without ``/``,
``:`` or ``\\`` and without a file suffix (``sales``, ``db.sales``,
``catalog.db.sales``) is a table of the session's catalog (Hive, Unity Catalog,
Delta); anything else is a path or URI (``s3://bucket/events/``,
``abfss://...``, ``/data/day.parquet``). The format of a path comes from
``spark_format`` when given, else from its suffix (``.parquet``, ``.pq``, ``.csv``,
``.tsv``, ``.orc``, ``.json``, ``.jsonl``), else a folder holding ``_delta_log`` is
Delta and any other path Parquet. CSV is read with a header and Spark's type
inference.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Final

from postpilot.errors import InputError, MissingExtraError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["FORMATS", "dataframe", "is_table", "read", "session", "spark_error"]

FORMATS: Final = ("parquet", "delta", "csv", "orc", "json")
"""The formats ``--spark-format`` accepts."""

_RAISED: Final = re.compile(r"^postpilot\.errors\.\w+: ")
_SUFFIXES: Final = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".orc": "orc",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}


def _pyspark(purpose: str) -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("pyspark", "spark", purpose) from exc


def session(purpose: str = "--engine spark") -> SparkSession:
    """The active Spark session, else a new local one; MissingExtraError without pyspark."""
    _pyspark(purpose)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName("postpilot")
    if not os.environ.get("PYSPARK_PYTHON"):
        # In local mode the Python workers must be this interpreter (the one with postpilot);
        # under spark-submit or on Databricks the session exists and this is not reached.
        builder = builder.config("spark.pyspark.python", sys.executable)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # Java missing, a bad master URL: translate at the boundary
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(
            f"could not start Spark: {first}",
            field="engine",
            hint="Spark needs Java 17 or later on PATH (or JAVA_HOME); run under "
            "spark-submit to use a cluster",
        ) from exc


def is_table(source: str) -> bool:
    """True when ``source`` names a table (``db.table``), not a path."""
    if not source or any(ch in source for ch in "/\\:") or os.path.exists(source):
        return False
    return not source.lower().endswith(tuple(_SUFFIXES))


def _format(source: str, spark_format: str | None) -> str:
    if spark_format is not None:
        if spark_format not in FORMATS:
            raise InputError(
                f"unknown Spark format {spark_format!r}",
                field="spark_format",
                hint=f"Use one of: {', '.join(FORMATS)}",
            )
        return spark_format
    lowered = source.rstrip("/").lower()
    for suffix, fmt in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return fmt
    if os.path.isdir(os.path.join(source, "_delta_log")):
        return "delta"
    return "parquet"


def read(
    spark: SparkSession, source: str, *, role: str, spark_format: str | None = None
) -> DataFrame:
    """The DataFrame of a table or path (see the module docstring); InputError naming
    ``source`` when Spark cannot find or read it."""
    from pyspark.errors import PySparkException

    try:
        if is_table(source):
            if spark_format is not None:
                raise InputError(
                    f"{source!r} names a table; --spark-format is for paths",
                    field="spark_format",
                    hint="Leave --spark-format out, or give a path",
                )
            return spark.table(source)
        fmt = _format(source, spark_format)
        reader = spark.read.format(fmt)
        if fmt == "csv":
            sep = "\t" if source.lower().endswith(".tsv") else ","
            reader = reader.option("header", True).option("inferSchema", True).option("sep", sep)
        return reader.load(source)
    except PySparkException as exc:
        raise InputError(
            f"Spark cannot read the {role} data: {spark_error(exc)}", file=source
        ) from exc


def dataframe(spark: SparkSession, data: object, role: str, spark_format: str | None) -> DataFrame:
    """``data`` as a Spark DataFrame: read when it is a path or table name."""
    from pyspark.sql import DataFrame

    if isinstance(data, DataFrame):
        return data
    if isinstance(data, str):
        return read(spark, data, role=role, spark_format=spark_format)
    kind = type(data)
    raise InputError(
        f"the Spark engine reads a path, a table name or a Spark DataFrame, not a "
        f"{kind.__module__}.{kind.__qualname__}",
        field=role,
    )


def spark_error(exc: BaseException) -> str:
    """One line for a failed Spark call; for a Python error on an executor, its last line."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = lines[-1] if "Traceback" in text else lines[0]
    line = _RAISED.sub("", line)  # "postpilot.errors.InputError: ..." from an executor
    return line if len(line) <= 300 else line[:297] + "..."
