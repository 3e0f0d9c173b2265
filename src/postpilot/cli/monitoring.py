"""``postpilot drift``: reference vs current, per chunk, per column and multivariate."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from postpilot.cli._base import EXIT_FOUND, console, emit_json, notes, registry
from postpilot.cli._output import check_outputs, staged
from postpilot.errors import InputError

__all__ = ["drift", "drift_history"]


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


# Options shared by the monitoring commands (drift, drift-history, estimate).
ChunkSize = Annotated[int | None, typer.Option("--chunk-size", help="Chunks of N rows.")]
ChunkPeriod = Annotated[
    str | None, typer.Option("--chunk-period", help="day, week or month (needs --timestamp).")
]
Timestamp = Annotated[
    str | None, typer.Option("--timestamp", help="Timestamp column for --chunk-period.")
]
FormatOption = Annotated[ReportFormat, typer.Option("--format", "-f", help="table, json or html.")]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
]


class Engine(StrEnum):
    local = "local"
    spark = "spark"


EngineOption = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="local: read the files here; spark: the inputs are paths Spark reads "
        "(s3://..., a Parquet folder) or table names (db.table), computed per chunk on the "
        "cluster; see docs/spark.md.",
    ),
]
SparkFormat = Annotated[
    str | None,
    typer.Option(
        "--spark-format",
        help="With --engine spark: parquet, delta, csv, orc or json (default: from the "
        "path's suffix; a folder is Parquet, or Delta with a _delta_log).",
    ),
]


def check_engine(engine: Engine, spark_format: str | None) -> None:
    """``--spark-format`` is for ``--engine spark`` only."""
    if spark_format is not None and engine is not Engine.spark:
        raise InputError(
            "--spark-format is for --engine spark", field="spark_format", hint="Add --engine spark"
        )


def _pairs(items: list[str] | None, option: str, numeric: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        column, sep, value = item.partition("=")
        if not sep or not column or not value:
            raise InputError(f"expected COLUMN=VALUE, got {item!r}", field=option)
        if numeric:
            try:
                float(value)
            except ValueError:
                raise InputError(f"{item!r}: {value!r} is not a number", field=option) from None
        out[column.strip()] = value.strip()
    return out


def drift(
    reference: Annotated[
        str,
        typer.Argument(
            help="Reference data (Parquet or CSV): what the model was trained or validated on."
        ),
    ],
    current: Annotated[str, typer.Argument(help="Current data (Parquet or CSV).")],
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--columns",
            "-c",
            help="Columns to compare (repeat, or comma-separated; default: all shared ones).",
        ),
    ] = None,
    chunk_size: ChunkSize = None,
    chunk_number: Annotated[
        int | None, typer.Option("--chunk-number", help="N chunks of equal size.")
    ] = None,
    chunk_period: ChunkPeriod = None,
    timestamp: Timestamp = None,
    tests: Annotated[
        list[str] | None,
        typer.Option(
            "--test",
            help="COLUMN=TEST to override the default "
            "test (ks, wasserstein, psi, jensen_shannon, hellinger, "
            "chi2, linf).",
        ),
    ] = None,
    thresholds: Annotated[
        list[str] | None, typer.Option("--threshold", help="COLUMN=VALUE to override a threshold.")
    ] = None,
    multivariate: Annotated[
        bool,
        typer.Option(
            "--multivariate/--no-multivariate", help="PCA reconstruction error over all columns."
        ),
    ] = True,
    product: Annotated[
        str | None,
        typer.Option(
            "--product", help="Store the results (and chunk profiles) under this product."
        ),
    ] = None,
    engine: EngineOption = Engine.local,
    spark_format: SparkFormat = None,
    fmt: FormatOption = ReportFormat.table,
    output: Output = None,
) -> None:
    """Detect drift. Exit 0 when nothing drifted, 1 when something did, 2 for unusable input."""
    from postpilot.monitoring.run import DriftOptions

    check_engine(engine, spark_format)
    check_outputs({"--output": output}, inputs=[reference, current])
    names = [n.strip() for item in columns or [] for n in item.split(",") if n.strip()]
    options = DriftOptions(
        columns=names or None,
        chunk_size=chunk_size,
        chunk_number=chunk_number,
        chunk_period=chunk_period,
        timestamp=timestamp,
        tests=_pairs(tests, "tests", numeric=False),
        thresholds={k: float(v) for k, v in _pairs(thresholds, "thresholds", True).items()},
        multivariate=multivariate,
    )
    reg = registry() if product else None
    try:
        _drift(reg, product, reference, current, options, fmt, output, engine, spark_format)
    finally:
        if reg is not None:
            reg.close()


def _drift(
    reg: Any,
    product: str | None,
    reference: str,
    current: str,
    options: Any,
    fmt: ReportFormat,
    output: Path | None,
    engine: Engine = Engine.local,
    spark_format: str | None = None,
) -> None:
    from postpilot.monitoring.run import run_drift

    if reg is not None and product:
        reg.product(product)  # an unknown product fails before the long part
    with console.status("profiling and comparing ...") if fmt is ReportFormat.table else _nothing():
        if engine is Engine.spark:
            from postpilot.spark.drift import run_drift_spark

            report = run_drift_spark(reference, current, options, spark_format=spark_format)
        else:
            report = run_drift(reference, current, options)

    def store() -> None:
        if reg is None or not product:
            return
        from postpilot.monitoring.store import stored_chunks

        run = reg.record_monitoring(
            product,
            kind="drift",
            reference=reference,
            current=current,
            alert=report.alert,
            result=report.to_dict(),
            chunks=stored_chunks(report),
        )
        notes.print(f"stored as monitoring run #{run.id} of {escape(product)}", style="dim")

    _report_out(
        report,
        fmt,
        output,
        f"Drift: {Path(current).name} vs {Path(reference).name}",
        store=store,
    )


def drift_history(
    product: Annotated[str, typer.Option("--product", help="The product whose runs to use.")],
    tests: Annotated[
        list[str] | None,
        typer.Option("--test", help="COLUMN=TEST to recompute with another test."),
    ] = None,
    thresholds: Annotated[
        list[str] | None, typer.Option("--threshold", help="COLUMN=VALUE to override a threshold.")
    ] = None,
    fmt: FormatOption = ReportFormat.table,
    output: Output = None,
) -> None:
    """Drift over every stored run of a product, recomputed from the stored profiles.

    No raw data is read: each chunk's stored profile is compared with the latest
    run's reference profile (bands from its stored reference chunks). Use it to see
    the history at once, or to re-test it with another test or threshold. The
    multivariate detector needs rows and is not recomputed. Exit 0 when nothing
    drifted, 1 when something did, 2 for unusable input.
    """
    from postpilot.monitoring.run import DriftOptions, drift_from_profiles
    from postpilot.monitoring.store import load_history

    check_outputs({"--output": output})
    with registry() as reg:
        history = load_history(reg, product)
    report = drift_from_profiles(
        history.reference,
        history.chunks,
        DriftOptions(
            tests=_pairs(tests, "tests", numeric=False),
            thresholds={k: float(v) for k, v in _pairs(thresholds, "thresholds", True).items()},
            multivariate=False,
        ),
        reference_chunks=history.reference_chunks,
        runs=history.chunk_runs,
    )
    _report_out(report, fmt, output, f"Drift history of {product}")


def _report_out(
    report: Any,
    fmt: ReportFormat,
    output: Path | None,
    title: str,
    *,
    html: Callable[[], str] | None = None,
    table: Callable[[Any], None] | None = None,
    store: Callable[[], None] | None = None,
) -> None:
    """Print or write ``report`` as JSON, HTML (``html()``, else ``report.to_html``) or a
    table; exit 1 when it alerts. The file at ``output`` and whatever ``store()`` stores
    land together or not at all (check ``output`` with ``check_outputs`` before the
    work); with ``--format table`` the file gets the JSON."""
    import json

    data = report.to_dict() if fmt is not ReportFormat.html else None
    text: str | None = None
    if fmt is ReportFormat.html:
        text = html() if html is not None else report.to_html(title)
    elif output is not None:
        text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
    with staged() as files:
        if output is not None and text is not None:
            files.write_text(output, text)
        if store is not None:
            store()
    if fmt is ReportFormat.json:
        if output is None:
            emit_json(data)
    elif fmt is ReportFormat.html:
        if output is None:
            typer.echo(text, nl=False)
    else:
        (table or _print)(report)
    if output is not None:
        console.print(f"wrote {escape(str(output))}")
    if report.alert:
        raise typer.Exit(EXIT_FOUND)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def _decision(r: Any) -> str:
    """What decided a result, in plain text: p-value vs level, or statistic vs threshold."""
    if r.threshold_source == "no values in the chunk":
        return "no values in the chunk"
    if r.p_value is not None:
        adjusted = r.adjusted_p_value if r.adjusted_p_value is not None else r.p_value
        text = f"p={r.p_value:.3g}, Holm {adjusted:.3g} {'<' if adjusted < r.threshold else '>='} "
        text += f"{r.threshold:.3g}"
        if r.threshold_source == "test and reference chunks":
            text += f"; {r.test} {r.statistic:.4g}"
        return text
    side = ">" if r.statistic > r.threshold else "<="
    where = " (reference band)" if r.threshold_source == "reference chunks" else ""
    return f"{r.statistic:.4g} {side} {r.threshold:.4g}{where}"


def _worst(results: list[Any]) -> Any:
    drifted = [r for r in results if r.drifted] or results

    def badness(r: Any) -> float:
        if r.p_value is not None:
            p = r.adjusted_p_value if r.adjusted_p_value is not None else r.p_value
            return -float(p)
        return r.statistic if r.statistic == r.statistic else float("inf")

    return max(drifted, key=badness)


def _print(report: object) -> None:
    from postpilot.monitoring.results import DriftReport

    assert isinstance(report, DriftReport)
    drifted = report.drifted_columns
    names = escape(", ".join(drifted))
    console.print(
        f"{len(report.chunks)} chunk(s) vs {report.reference_rows:,} reference rows: "
        + (
            f"[bold red]DRIFT: {len(drifted)} column(s) drifted: {names}[/]"
            if drifted
            else "[green]no column drifted[/]"
        )
    )
    table = Table("chunk", "rows", "status", "drifted columns", "multivariate")
    for chunk in report.chunks:
        mv = chunk.multivariate
        mv_text = ""
        if mv is not None:  # "ALERT 0.7996 below [0.8158, 0.997]"; "0.9 (no band)"
            where = f" {mv.direction or 'in'} [{mv.lower:.4g}, {mv.upper:.4g}]"
            mv_text = f"{'[red]ALERT[/] ' if mv.alert else ''}{mv.value:.4g}" + (
                " (no band)" if mv.band_source == "none" else where
            )
        alerting = bool(chunk.drifted_columns) or bool(mv and mv.alert)
        table.add_row(
            escape(chunk.key),
            f"{chunk.rows:,}",
            "[red]DRIFT[/]" if alerting else "ok",
            escape(", ".join(chunk.drifted_columns)) or "-",
            mv_text,
        )
    console.print(table)
    detail = Table("column", "status", "test", "decision (worst chunk)", "drifted chunks")
    for name in report.columns:
        results = [r for c in report.chunks for r in c.columns if r.column == name]
        if not results:
            continue
        worst = _worst(results)
        hits = [c.key for c in report.chunks for r in c.columns if r.column == name and r.drifted]
        detail.add_row(
            escape(name),
            "[red]DRIFT[/]" if hits else "ok",
            worst.test,
            _decision(worst),
            f"{len(hits)}/{len(results)}" + (f": {escape(', '.join(hits[:10]))}" if hits else ""),
        )
    console.print(detail)
    for change in report.schema_changes:
        label = "[red]DRIFT[/] " if change.counted else ""
        console.print(
            f"{label}schema: {escape(change.column)}: {escape(change.detail)}"
            + (f" ({change.severity})" if change.counted else "")
        )
    counted = {c.column for c in report.schema_changes}
    for name, reason in report.settings.get("skipped_columns", {}).items():
        if name not in counted:
            console.print(f"[yellow]not compared:[/] {escape(name)} ({escape(reason)})")
    if report.settings.get("multivariate_skipped"):
        console.print(
            "[yellow]multivariate drift skipped:[/] "
            + escape(str(report.settings["multivariate_skipped"]))
        )
