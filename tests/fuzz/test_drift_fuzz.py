"""``drift`` and ``drift-history`` on hostile files and option values, on both stores."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import PRODUCT, Folder
from tests.fuzz.promise import run
from tests.fuzz.strategies import (
    Table,
    fuzz_settings,
    hostile_names,
    numbers,
    numeric_tables,
    tables,
    tables_like,
)
from tests.helpers import CliStore

DRIFT_TESTS = ["ks", "wasserstein", "psi", "jensen_shannon", "hellinger", "chi2", "linf"]


@st.composite
def pairs(draw: st.DrawFn) -> tuple[Table, Table]:
    """A reference and a current table: the same file, the same schema with new values
    (maybe in another format), or anything else."""
    reference = draw(tables(max_rows=30))
    how = draw(st.sampled_from(["self", "same-schema", "other"]))
    if how == "self":
        return reference, reference
    if how == "same-schema":
        return reference, draw(tables_like(reference, max_rows=30))
    return reference, draw(tables(max_rows=30))


def _column_names(table: Table) -> st.SearchStrategy[str]:
    known = [n for n in table.names if n]
    return st.sampled_from(known) | hostile_names() if known else hostile_names()


@st.composite
def drift_options(draw: st.DrawFn, reference: Table, current: Table) -> list[str]:
    names = _column_names(reference)
    args: list[str] = []
    if draw(st.booleans()):
        chosen = draw(st.lists(names, min_size=1, max_size=3))
        if draw(st.booleans()):
            args += ["--columns", ",".join(chosen)]
        else:
            for name in chosen:
                args += ["-c", name]
    chunking = draw(st.sampled_from(["none", "size", "number", "period", "two"]))
    if chunking in ("size", "two"):
        args += ["--chunk-size", draw(numbers())]
    if chunking in ("number", "two"):
        args += ["--chunk-number", draw(numbers())]
    if chunking == "period":
        period = draw(st.sampled_from(["day", "week", "month", "year", "", "[/]"]))
        args += ["--chunk-period", period]
        if draw(st.booleans()):
            args += ["--timestamp", draw(names)]
    elif draw(st.integers(0, 5)) == 0:
        args += ["--timestamp", draw(names)]
    for _ in range(draw(st.integers(0, 2))):
        test = draw(st.sampled_from([*DRIFT_TESTS, "nosuch", "", "KS"]))
        args += ["--test", f"{draw(names)}={test}"]
    for _ in range(draw(st.integers(0, 2))):
        args += ["--threshold", f"{draw(names)}={draw(numbers())}"]
    if draw(st.booleans()):
        args.append("--no-multivariate")
    if draw(st.integers(0, 3)) == 0:
        args += ["--product", draw(st.sampled_from([PRODUCT, PRODUCT, "nosuch-product", "[/]"]))]
    fmt = draw(st.sampled_from(["json", "json", "table", "html", "xml"]))
    args += [draw(st.sampled_from(["--format", "-f"])), fmt]
    if draw(st.integers(0, 3)) == 0:
        target = draw(
            st.sampled_from(["out.json", "out.html", "missing/out.json", ".", "REFERENCE"])
        )
        args += ["-o", target]
    return args


@given(data=st.data())
@fuzz_settings(15)
def test_drift_keeps_the_promise(store: CliStore, folder: Folder, data: st.DataObject) -> None:
    reference, current = data.draw(pairs(), label="files")
    options = data.draw(drift_options(reference, current), label="options")
    with folder() as work:
        ref = reference.write(work / "reference")
        cur = ref if current is reference else current.write(work / "current")
        options = [str(ref.name) if o == "REFERENCE" else o for o in options]
        run(["drift", ref.name, cur.name, *options], store=store, work=work, inputs=[ref, cur])


@given(table=tables(max_rows=30))
@fuzz_settings(12)
def test_drift_of_a_file_against_itself_never_alerts(
    store: CliStore, folder: Folder, table: Table
) -> None:
    """A file compared with itself has not drifted, on any detector: exit 0, or exit 2
    when nothing in it can be compared; never 1."""
    with folder() as work:
        path = table.write(work / "data")
        result = run(
            ["drift", path.name, path.name, "-f", "json"], store=store, work=work, inputs=[path]
        )
        assert result.exit_code != 1, result.stdout


@given(data=st.data())
@fuzz_settings(12)
def test_drift_options_mean_what_they_say(
    store: CliStore, folder: Folder, data: st.DataObject
) -> None:
    """``--chunk-number N`` gives N chunks, ``--chunk-size N`` ceil(rows/N) chunks,
    ``--columns a,b`` compares exactly a and b."""
    reference = data.draw(numeric_tables(min_rows=10, max_rows=60), label="reference")
    current = data.draw(numeric_tables(min_rows=1, max_rows=60), label="current")
    option = data.draw(st.sampled_from(["--chunk-number", "--chunk-size", "--columns"]))
    if option == "--chunk-number":
        value = data.draw(st.integers(1, min(current.rows, 10)), label="N")
    elif option == "--chunk-size":
        value = data.draw(st.integers(1, current.rows + 5), label="N")
    else:
        chosen = data.draw(
            st.lists(st.sampled_from(current.names), min_size=1, max_size=3, unique=True)
        )
    with folder() as work:
        ref = reference.write(work / "reference")
        cur = current.write(work / "current")
        args = ["drift", ref.name, cur.name, "-f", "json", "--no-multivariate"]
        if option == "--columns":
            args += ["--columns", ",".join(chosen)]
        else:
            args += [option, str(value)]
        result = run(args, store=store, work=work, inputs=[ref, cur])
        assert result.exit_code in (0, 1), result.stderr
        report = json.loads(result.stdout)
        chunks = report["chunks"]
        assert sum(c["rows"] for c in chunks) == current.rows
        if option == "--chunk-number":
            assert len(chunks) == value
        elif option == "--chunk-size":
            assert len(chunks) == math.ceil(current.rows / value)
        else:
            compared = {r["column"] for c in chunks for r in c["columns"]}
            assert compared == set(chosen)


@given(data=st.data())
@fuzz_settings(8)
def test_drift_history_keeps_the_promise(
    store: CliStore, folder: Folder, data: st.DataObject
) -> None:
    """Runs stored from hostile files (their schemas may differ from run to run), then
    the history recomputed with hostile options."""
    with folder() as work:
        for i in range(data.draw(st.integers(0, 2), label="runs")):
            reference, current = data.draw(pairs(), label=f"run {i}")
            ref = reference.write(work / f"reference{i}")
            cur = ref if current is reference else current.write(work / f"current{i}")
            run(
                ["drift", ref.name, cur.name, "--product", PRODUCT, "-f", "json"],
                store=store,
                work=work,
                inputs=[ref, cur],
            )
        names = hostile_names() | st.sampled_from(["c0", "x", "a"])
        args = ["drift-history", "--product", data.draw(st.sampled_from([PRODUCT, "nosuch-x"]))]
        for _ in range(data.draw(st.integers(0, 2))):
            test = data.draw(st.sampled_from([*DRIFT_TESTS, "nosuch"]))
            args += ["--test", f"{data.draw(names)}={test}"]
        for _ in range(data.draw(st.integers(0, 2))):
            args += ["--threshold", f"{data.draw(names)}={data.draw(numbers())}"]
        args += ["-f", data.draw(st.sampled_from(["json", "table", "html"]))]
        if data.draw(st.booleans()):
            args += ["-o", data.draw(st.sampled_from(["history.json", "nope/h.json", "."]))]
        run(args, store=store, work=work)
