"""What a drift run may compare, checked before any data is profiled.

Options that cannot mean anything (a column named twice, an unknown test, a NaN
threshold), inputs with no columns or a column named twice, options that name a
column the data does not have, and two inputs with no column in common are each
an :class:`~postpilot.errors.InputError` naming the option or file, raised before
the long part starts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from postpilot.errors import InputError
from postpilot.monitoring.drift import get_test
from postpilot.profiles import Profile

if TYPE_CHECKING:
    from postpilot.monitoring.run import DriftOptions

__all__ = [
    "LISTED",
    "check_names",
    "check_options",
    "count_rows",
    "label",
    "listed",
    "location",
    "names_of",
]

LISTED = 20
"""How many column names an error message lists before "and N more"."""


def check_options(options: DriftOptions) -> None:
    """Refuse options that cannot mean anything, before any data is read."""
    if options.columns is not None:
        seen: set[str] = set()
        for name in options.columns:
            if name in seen:
                raise InputError(f"column {name!r} is named twice", field="columns")
            seen.add(name)
    for column, key in options.tests.items():
        try:
            get_test(key)
        except InputError as exc:
            raise InputError(
                f"{column}={key}: {exc.message}", field="tests", hint=exc.hint
            ) from None
    for column, value in options.thresholds.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{column}={value!r}: not a number", field="thresholds")
        if not math.isfinite(value) or value < 0:
            raise InputError(
                f"{column}={value}: a threshold is a finite number >= 0 (a p-value level "
                "between 0 and 1 for ks and chi2)",
                field="thresholds",
            )


def listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:LISTED]) or "(none)"
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def location(data: object, role: str) -> dict[str, str]:
    """The InputError location of ``data``: its file, else the argument's name."""
    if isinstance(data, str | os.PathLike):
        return {"file": str(os.fspath(data))}
    return {"field": role}


def label(data: object, role: str) -> str:
    where = location(data, role)
    return where.get("file") or f"the {role} data"


def names_of(data: object, role: str) -> list[str] | None:
    """The column names of ``data`` (None when only reading it would tell); InputError
    when it has none or names one twice."""
    from postpilot.profiles.profiler import DEFAULT_BATCH_SIZE
    from postpilot.profiles.readers import open_source

    if isinstance(data, Profile):
        names: list[str] | None = list(data.columns)
    else:
        names = open_source(data, batch_size=DEFAULT_BATCH_SIZE, columns=None).names
    if names is None:
        return None
    if not names:
        raise InputError(f"the {role} data has no columns", **location(data, role))
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(
            f"the {role} data names column {twice[0]!r} twice",
            **location(data, role),
            hint="Give every column its own name",
        )
    return names


def check_names(
    options: DriftOptions,
    reference: object,
    current: object,
    ref_names: list[str] | None,
    cur_names: list[str] | None,
) -> None:
    """Every column an option names exists; the two sides share a column."""
    for data, role, names in (
        (reference, "reference", ref_names),
        (current, "current", cur_names),
    ):
        if names is None:
            continue
        for name in options.columns or ():
            if name not in names:
                raise InputError(
                    f"{label(data, role)} has no column {name!r}",
                    field="columns",
                    hint=f"Its columns are: {listed(names)}",
                )
    if ref_names is not None:
        allowed = list(options.columns) if options.columns else ref_names
        for option, named in (("tests", options.tests), ("thresholds", options.thresholds)):
            for name in named:
                if name not in allowed:
                    where = (
                        "is not among --columns"
                        if options.columns
                        else (f"is not a column of {label(reference, 'reference')}")
                    )
                    raise InputError(
                        f"{name!r} {where}", field=option, hint=f"Columns: {listed(allowed)}"
                    )
    if options.columns or ref_names is None or cur_names is None:
        return
    if not set(ref_names) & set(cur_names):
        raise InputError(
            f"the reference and the current data have no column in common: "
            f"{label(reference, 'reference')} has {listed(ref_names)}; "
            f"{label(current, 'current')} has {listed(cur_names)}",
            hint="Compare files of the same table (a current file read as one column may "
            "use another delimiter)",
        )


def count_rows(data: object) -> int:
    """The number of rows of ``data``, read from one column (a profile of no columns
    counts no rows)."""
    from postpilot.profiles.profiler import DEFAULT_BATCH_SIZE
    from postpilot.profiles.readers import Restart, open_source

    if isinstance(data, Profile):
        return data.rows
    source = open_source(data, batch_size=DEFAULT_BATCH_SIZE, columns=None)
    if source.names:
        source = open_source(data, batch_size=DEFAULT_BATCH_SIZE, columns=source.names[:1])
    while True:
        try:
            return sum(frame.height for frame in source.batches)
        except Restart as restart:
            source = restart.source
