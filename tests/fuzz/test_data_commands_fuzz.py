"""``estimate``, ``contract infer``/``check``, ``labels ingest``, ``model register
--training-data`` and ``card`` on hostile files and option values, on both stores."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import PRODUCT, Folder
from tests.fuzz.promise import run
from tests.fuzz.strategies import (
    FORMATS,
    MARKUP,
    Table,
    fuzz_settings,
    hostile_names,
    numbers,
    tables,
    tables_like,
)
from tests.helpers import CliStore

METRICS = ["roc_auc", "f1", "precision", "recall", "specificity", "accuracy", "log_loss"]
REGRESSION = ["mae", "mse", "rmse", "mape", "r2"]


@st.composite
def model_outputs(draw: st.DrawFn) -> Table:
    """A model's outputs and labels (x, score, pred, y), then hostile changes: a string
    score, one class, no rows, a column dropped or duplicated, nulls and NaN."""
    rows = draw(st.integers(0, 40))
    unit = st.floats(0, 1, allow_nan=False, width=64)
    x = tuple(draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=rows, max_size=rows)))
    score = tuple(draw(st.lists(unit, min_size=rows, max_size=rows)))
    y = tuple(draw(st.lists(st.integers(0, 1), min_size=rows, max_size=rows)))
    names = ["x", "score", "pred", "y", "when"]
    kinds = ["float", "float", "int", "int", "datetime"]
    when = tuple(draw(st.lists(st.datetimes(), min_size=rows, max_size=rows)))
    columns: list[tuple[object, ...]] = [x, score, tuple(int(s >= 0.5) for s in score), y, when]
    for change in draw(st.lists(st.sampled_from(CHANGES), max_size=2)):
        i = draw(st.integers(0, len(names) - 1))
        if change == "string" and columns[i]:
            columns[i] = tuple(draw(st.sampled_from(["a", "0.5", *MARKUP])) for _ in columns[i])
            kinds[i] = "str"
        elif change == "one-class" and "y" in names:
            # the label column, wherever earlier changes left it (index 3 could be
            # another column by now, whose kind a column of zeros would not fit)
            label = names.index("y")
            columns[label] = tuple(0 for _ in columns[label])
            kinds[label] = "int"
        elif change == "nulls":
            columns[i] = tuple(None for _ in columns[i])
            kinds[i] = "null"
        elif change == "nan" and kinds[i] == "float":
            columns[i] = tuple(float("nan") if j % 2 else v for j, v in enumerate(columns[i]))
        elif change == "drop" and len(names) > 1:
            del names[i], kinds[i], columns[i]
        elif change == "duplicate":
            names.append(names[i])
            kinds.append(kinds[i])
            columns.append(columns[i])
    fmt = draw(st.sampled_from(FORMATS))
    return Table(tuple(names), tuple(kinds), tuple(columns), fmt)


CHANGES = ["string", "one-class", "nulls", "nan", "drop", "duplicate", "none", "none"]


@given(data=st.data())
@fuzz_settings(15)
def test_estimate_keeps_the_promise(store: CliStore, folder: Folder, data: st.DataObject) -> None:
    reference = data.draw(model_outputs(), label="reference")
    analysis = data.draw(model_outputs() | tables(max_rows=20), label="analysis")
    columns = st.sampled_from(["x", "score", "pred", "y", "when"]) | hostile_names()
    problem = data.draw(st.sampled_from(["binary", "binary", "regression", "multiclass", "nosuch"]))
    metrics = data.draw(
        st.lists(st.sampled_from([*METRICS, *REGRESSION, "nosuch", ""]), min_size=1, max_size=3)
    )
    args = ["--problem", problem, "--y-true", data.draw(columns)]
    for metric in metrics:
        args += [data.draw(st.sampled_from(["--metric", "-m"])), metric]
    if data.draw(st.booleans()):
        args += ["--y-pred", data.draw(columns)]
    if problem != "regression" and data.draw(st.booleans()):
        args += ["--y-pred-proba", data.draw(columns | st.just("a=score,b=x"))]
    if data.draw(st.integers(0, 3)) == 0:
        args += ["--features", ",".join(data.draw(st.lists(columns, min_size=1, max_size=3)))]
    chunking = data.draw(st.sampled_from(["none", "size", "number", "period"]))
    if chunking == "size":
        args += ["--chunk-size", data.draw(numbers())]
    elif chunking == "number":
        args += ["--chunk-number", data.draw(numbers())]
    elif chunking == "period":
        args += ["--chunk-period", data.draw(st.sampled_from(["day", "month", "x"]))]
        args += ["--timestamp", data.draw(columns)]
    for _ in range(data.draw(st.integers(0, 2))):
        metric = data.draw(st.sampled_from([*metrics, "nosuch"]))
        args += ["--threshold", f"{metric}={data.draw(numbers())}"]
    if data.draw(st.integers(0, 3)) == 0:
        args += ["--product", data.draw(st.sampled_from([PRODUCT, "nosuch-product"]))]
        if data.draw(st.booleans()):
            args += ["--id-column", data.draw(columns)]
    elif data.draw(st.integers(0, 5)) == 0:
        args += ["--id-column", "x"]
    fmt = data.draw(st.sampled_from(["json", "json", "table", "html"]))
    args += ["-f", fmt]
    if fmt == "html" and data.draw(st.booleans()):
        args.append("--no-drift")
    if data.draw(st.integers(0, 3)) == 0:
        args += ["-o", data.draw(st.sampled_from(["estimate.out", "none/x.json", "REFERENCE"]))]
    with folder() as work:
        ref = reference.write(work / "reference")
        ana = analysis.write(work / "analysis")
        args = [ref.name if a == "REFERENCE" else a for a in args]
        run(
            ["estimate", "--reference", ref.name, "--analysis", ana.name, *args],
            store=store,
            work=work,
            inputs=[ref, ana],
        )


@given(data=st.data())
@fuzz_settings(15)
def test_contract_infer_and_check_keep_the_promise(
    store: CliStore, folder: Folder, data: st.DataObject
) -> None:
    """A contract inferred from a file (exit 0) accepts that very file; every other
    outcome keeps the promise and, on failure, leaves nothing behind."""
    training = data.draw(tables(max_rows=25), label="training")
    batch = data.draw(tables_like(training, max_rows=25) | tables(max_rows=25), label="batch")
    output = data.draw(
        st.sampled_from(["c.yaml", "c.yaml", "c.profile", "missing/c.yaml", ".", "TRAINING"]),
        label="output",
    )
    args: list[str] = []
    if data.draw(st.booleans()):
        args += ["--name", data.draw(hostile_names() | st.just("crm"))]
    if data.draw(st.integers(0, 2)) == 0:
        args += ["--product", data.draw(st.sampled_from([PRODUCT, "nosuch-product"]))]
    if data.draw(st.integers(0, 2)) == 0:
        args += ["--source", data.draw(hostile_names() | st.just("crm"))]
    if data.draw(st.booleans()):
        args += ["--range-tolerance", data.draw(numbers())]
    if data.draw(st.booleans()):
        args.append(data.draw(st.sampled_from(["--store", "--no-store"])))
    with folder() as work:
        path = training.write(work / "training")
        other = batch.write(work / "batch")
        target = path.name if output == "TRAINING" else output
        inferred = run(
            ["contract", "infer", path.name, "-o", target, *args],
            store=store,
            work=work,
            inputs=[path, other],
        )
        contract = target if inferred.exit_code == 0 else "c.yaml"
        if inferred.exit_code == 0:
            own = run(["contract", "check", contract, path.name], store=store, work=work)
            assert own.exit_code == 0, "a contract must accept the file it was inferred from"
        fmt = data.draw(st.sampled_from(["json", "table"]))
        run(
            ["contract", "check", contract, other.name, "-f", fmt],
            store=store,
            work=work,
            inputs=[path, other],
        )


@given(data=st.data())
@fuzz_settings(12)
def test_labels_ingest_keeps_the_promise(
    store: CliStore, folder: Folder, data: st.DataObject
) -> None:
    table = data.draw(tables(max_rows=20, kinds=("int", "str", "float", "bool", "null")))
    columns = (
        st.sampled_from(list(table.names)) | hostile_names() if table.names else hostile_names()
    )
    product = data.draw(st.sampled_from([PRODUCT, PRODUCT, "nosuch-product", "[/]"]))
    fmt = data.draw(st.sampled_from(["json", "table"]))
    with folder() as work:
        path = table.write(work / "labels")
        run(
            [
                "labels",
                "ingest",
                path.name,
                "--product",
                product,
                "--id-column",
                data.draw(columns),
                "--label-column",
                data.draw(columns),
                "-f",
                fmt,
            ],
            store=store,
            work=work,
            inputs=[path],
        )
        run(["labels", "count", "--product", product, "-f", fmt], store=store, work=work)


@given(data=st.data())
@fuzz_settings(12)
def test_model_register_and_card_keep_the_promise(
    store: CliStore, folder: Folder, data: st.DataObject
) -> None:
    table = data.draw(tables(max_rows=20), label="training data")
    models = hostile_names() | st.sampled_from(["churn", "other"])
    args = ["--artifact", data.draw(hostile_names(min_size=1)), "--flavor", "sklearn"]
    if data.draw(st.booleans()):
        args += ["--model", data.draw(models)]
    if data.draw(st.booleans()):
        args += ["--training-rows", data.draw(numbers())]
    for option in ("--training-start", "--training-end"):
        if data.draw(st.integers(0, 3)) == 0:
            args += [option, data.draw(st.sampled_from(["2026-01-01", "2020-01-01", "x", ""]))]
    for _ in range(data.draw(st.integers(0, 2))):
        args += ["--metric", f"{data.draw(hostile_names())}={data.draw(numbers())}"]
    if data.draw(st.booleans()):
        args += ["--limitations", data.draw(hostile_names())]
    if data.draw(st.booleans()):
        args.append(data.draw(st.sampled_from(["--profile", "--no-profile"])))
    product = data.draw(st.sampled_from([PRODUCT, PRODUCT, "nosuch-product"]))
    with folder() as work:
        path = table.write(work / "train")
        data_arg = data.draw(st.sampled_from([path.name, path.name, "missing.csv"]))
        run(
            ["model", "register", product, "--training-data", data_arg, *args, "-f", "json"],
            store=store,
            work=work,
            inputs=[path],
        )
        card = [data.draw(st.sampled_from(["card", "model card"]))]
        card_args = [*card[0].split(), product]
        if data.draw(st.booleans()):
            card_args += ["--version", data.draw(numbers())]
        if data.draw(st.booleans()):
            card_args += ["--model", data.draw(models)]
        card_args += ["-f", data.draw(st.sampled_from(["md", "html"]))]
        if data.draw(st.booleans()):
            card_args += ["-o", data.draw(st.sampled_from(["card.md", "nope/card.md", "."]))]
        run(card_args, store=store, work=work, inputs=[path])
