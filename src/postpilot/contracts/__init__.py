"""Data contracts: inferred from training data, checked on every batch.

>>> import polars as pl
>>> from postpilot.contracts import check_contract, infer_contract
>>> train = pl.DataFrame({"amount": [10.0, 12.5, 11.0, 9.5] * 100, "plan": ["a", "b"] * 200})
>>> contract = infer_contract(train, name="billing")
>>> check_contract(contract, train).ok
True
>>> batch = train.rename({"amount": "amount_usd"}).with_columns(pl.col("amount_usd") * 100)
>>> [f.kind.value for f in check_contract(contract, batch).findings]
['likely_rename', 'unit_change']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot.contracts.diff import Change, diff_contracts
from postpilot.contracts.findings import CheckResult, Finding, Kind, Severity
from postpilot.contracts.io import dump_contract, dumps_contract, load_contract, loads_contract
from postpilot.contracts.model import ColumnSpec, Contract, Range, Reference, RowSpec
from postpilot.contracts.validator import FieldError, RecordValidator, compile_validator

if TYPE_CHECKING:
    from postpilot.profiles import Profile

__all__ = [
    "Change",
    "CheckResult",
    "ColumnSpec",
    "Contract",
    "FieldError",
    "Finding",
    "Kind",
    "Range",
    "RecordValidator",
    "Reference",
    "RowSpec",
    "Severity",
    "check_contract",
    "check_profile",
    "compile_validator",
    "diff_contracts",
    "dump_contract",
    "dumps_contract",
    "infer_contract",
    "load_contract",
    "loads_contract",
]


# The profiling engine (polars, pyarrow, DataSketches) is imported on first use, so
# commands that only read contracts start fast.


def _as_profile(data: Any) -> Profile:
    from postpilot.profiles import Profile, profile

    return data if isinstance(data, Profile) else profile(data)


def infer_contract(data: Any, *, name: str, **options: Any) -> Contract:
    """Infer a contract from ``data`` (anything :func:`postpilot.profiles.profile` reads,
    or a :class:`~postpilot.profiles.Profile`)."""
    from postpilot.contracts.infer import infer_contract as infer

    return infer(_as_profile(data), name=name, **options)


def check_profile(contract: Contract, batch: Profile) -> CheckResult:
    """Every finding for a batch's profile against ``contract``."""
    from postpilot.contracts.check import check_profile as check

    return check(contract, batch)


def check_contract(contract: Contract | str | Path, data: Any) -> CheckResult:
    """Check ``data`` (or its profile) against ``contract`` (or a contract file)."""
    if not isinstance(contract, Contract):
        contract = load_contract(contract)
    return check_profile(contract, _as_profile(data))
