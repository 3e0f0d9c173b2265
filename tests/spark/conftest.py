"""The Spark engine's tests use the suite's one Spark session (the ``spark`` fixture of
tests/conftest.py); pyspark is part of the dev install, so they never skip."""

from __future__ import annotations

import pyspark  # noqa: F401  (fails here, loudly, if the spark extra is missing)

# PySpark warns on every pandas-backed call that it does not yet fully support pandas 3;
# the engine passes Arrow batches and never converts to pandas.
PANDAS_3 = "ignore:PySpark does not yet fully support pandas:FutureWarning"
