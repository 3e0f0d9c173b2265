"""``contract check --engine spark``: the batch profiled on the executors, checked on the driver.

The batch (a path or a table) is profiled where it lives
(:func:`postpilot.profiles.spark.profile_spark`: one partial profile per partition,
merged on the driver) with the sketch sizes the local engine uses for a contract
check, and the driver checks the merged profile against the contract
(:func:`postpilot.contracts.check_profile`). Counts, nulls, extremes and category
counts are exact, so the findings equal the local engine's on the same rows; the
findings that rest on quantiles (a unit change) agree within the sketches' bounds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from postpilot.contracts import CheckResult, Contract, check_profile, load_contract
from postpilot.spark.session import dataframe, session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["check_contract_spark"]


def check_contract_spark(
    contract: Contract | str | Path,
    data: object,
    *,
    spark_format: str | None = None,
    spark: SparkSession | None = None,
) -> CheckResult:
    """:func:`postpilot.contracts.check_contract` for a path, table name or Spark
    DataFrame, profiled by Spark."""
    from postpilot.profiles import profile

    if not isinstance(contract, Contract):
        contract = load_contract(contract)
    spark = spark or session()
    return check_profile(contract, profile(dataframe(spark, data, "data", spark_format)))
