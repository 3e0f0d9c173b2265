"""postpilot's commands on Spark: ``drift``, ``estimate`` and ``contract check`` with
``--engine spark`` (see docs/spark.md).

The executors compute what is per chunk (profiles; an estimator's per-chunk numbers)
and only those come back to the driver, which then does what the local engine does
with them. Nothing here imports PySpark until a function runs, and a missing PySpark
is a :class:`~postpilot.errors.MissingExtraError` naming ``pip install 'postpilot[spark]'``.
"""

from __future__ import annotations

from postpilot.spark.contracts import check_contract_spark
from postpilot.spark.drift import run_drift_spark
from postpilot.spark.estimate import REFERENCE_ROWS, estimate_performance_spark
from postpilot.spark.session import FORMATS, read, session

__all__ = [
    "FORMATS",
    "REFERENCE_ROWS",
    "check_contract_spark",
    "estimate_performance_spark",
    "read",
    "run_drift_spark",
    "session",
]
